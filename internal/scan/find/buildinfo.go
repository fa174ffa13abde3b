// Package find reads which Kubernetes client a program holds: the k8s.io/client-go version
// compiled into Go binaries (files, directory trees or the layers of a local Docker image),
// and @kubernetes/client-node packages and bundles of Node.js programs. The client-go
// version comes from the module list in the build info; binaries without one (GOPATH mode
// with a vendored client-go, the v8–v11 era) keep the client-go function names of their
// pclntab (Finding.Funcs), which internal/scan/predict places against fingerprints.
// Node.js programs are found by the package.json of @kubernetes/client-node in their
// node_modules (clientnode.go). Judging what is found is internal/scan/predict's.
package find

import (
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/modfile"
)

// ClientGoPath is the module whose version decides token reloading.
const ClientGoPath = "k8s.io/client-go"

// ErrNotGoBinary marks files without Go build info (scripts, C binaries, data).
var ErrNotGoBinary = errors.New("not a Go binary")

// Module is a module version as recorded in a binary's build info.
type Module struct {
	Path    string  `json:"path"`
	Version string  `json:"version"`
	Replace *Module `json:"replace,omitempty"`
}

// Finding is one Go binary, or one @kubernetes/client-node package or bundle.
type Finding struct {
	Target     string  `json:"target"`         // the file or image reference given
	File       string  `json:"file,omitempty"` // path inside the image
	MainModule string  `json:"mainModule"`
	GoVersion  string  `json:"goVersion"`            // "" for Go < 1.13 (no build info)
	ClientGo   *Module `json:"clientGo"`             // nil: no Kubernetes client recognised in it
	ClientGoBy string  `json:"clientGoBy,omitempty"` // FromBuildInfo, FromSymbols (then Version is ""), FromPackageJSON, FromBundle
	// ClientGoAt are the package roots client-go's functions were found under, when one is
	// not k8s.io/client-go itself: a GOPATH vendor copy ("example.com/addon/vendor/k8s.io/client-go")
	// or a copy under another path. Their names are matched together.
	ClientGoAt []string `json:"clientGoAt,omitempty"`
	// Fork is set when the client-go compiled in is not k8s.io/client-go as released.
	Fork *Fork `json:"fork,omitempty"`
	// Opaque says why a Go binary could not be read for a client: whether it links one
	// cannot be told.
	Opaque string `json:"opaque,omitempty"`

	// Funcs are the client-go function names (vendor prefix cut), kept to place the
	// version when the build info cannot; not part of the scan's output.
	Funcs []string `json:"-"`
}

// Fork is the module a client-go that is not k8s.io/client-go comes from: a replace
// directive naming another module path, or another module whose packages hold a copy of
// client-go's (found by function names).
type Fork struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"`
	Replace bool   `json:"replace,omitempty"` // a replace directive of k8s.io/client-go
}

// ClientGoVersion is the client-go version actually compiled in: a replacement's version
// wins over the required one; "" for none or a replacement by a local directory.
func (f Finding) ClientGoVersion() string {
	switch {
	case f.ClientGo == nil:
		return ""
	case f.ClientGo.Replace != nil:
		return f.ClientGo.Replace.Version
	}
	return f.ClientGo.Version
}

// ClientGo reads the build info and function names of the binary at path.
func ClientGo(path string) (Finding, error) {
	f, err := os.Open(path)
	if err != nil {
		return Finding{}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	fd, err := readGoBinary(f)
	if err != nil {
		return Finding{}, fmt.Errorf("%s: %w", path, err)
	}
	fd.Target = path
	return fd, nil
}

// readGoBinary reads what a Go binary says about client-go: the build info's module list,
// and the function names, which every Go binary keeps (stripped ones included) and which
// are the only evidence in GOPATH-mode builds. A Go binary whose module list is missing and
// whose names cannot be read (garble), or a UPX-packed executable, is Opaque: "does not
// link client-go" would be a guess.
func readGoBinary(r io.ReaderAt) (Finding, error) {
	fd, bi, biErr := readBuildInfo(r)
	names, symErr := funcNames(r)
	if biErr != nil && symErr != nil {
		if packed(r) {
			return Finding{Opaque: "UPX-packed executable: its code and names are compressed, so whether it links a Kubernetes client cannot be told; scan the unpacked binary (upx -d)"}, nil
		}
		return Finding{}, fmt.Errorf("%w: %v", ErrNotGoBinary, biErr)
	}
	modules := bi != nil && bi.Main.Path != ""
	var roots []string
	if symErr == nil {
		fd.Funcs, roots = clientGoFuncs(names)
	}
	if len(roots) > 1 || len(roots) == 1 && roots[0] != ClientGoPath {
		fd.ClientGoAt = roots
	}
	if fd.Fork == nil {
		fd.Fork = forkOf(bi, roots)
	}
	switch {
	case fd.ClientGo != nil:
		fd.ClientGoBy = FromBuildInfo
	case len(fd.Funcs) > 0:
		fd.ClientGo, fd.ClientGoBy = &Module{Path: ClientGoPath}, FromSymbols
	case symErr != nil && !modules:
		fd.Opaque = fmt.Sprintf("Go binary without a module list and without readable function names (%v): whether it links a Kubernetes client cannot be told (garble removes both)", symErr)
	}
	return fd, nil
}

// readBuildInfo reads the build info: the client-go module, and a fork when a replace
// directive names another module path for it (a local directory is not a module: its
// names are read instead).
func readBuildInfo(r io.ReaderAt) (Finding, *buildinfo.BuildInfo, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return Finding{}, nil, err
	}
	fd := Finding{MainModule: bi.Main.Path, GoVersion: bi.GoVersion}
	for _, d := range bi.Deps {
		if d.Path != ClientGoPath {
			continue
		}
		fd.ClientGo = &Module{Path: d.Path, Version: d.Version}
		if r := d.Replace; r != nil {
			fd.ClientGo.Replace = &Module{Path: r.Path, Version: r.Version}
			if r.Path != ClientGoPath && !modfile.IsDirectoryPath(r.Path) {
				fd.Fork = &Fork{Path: r.Path, Version: r.Version, Replace: true}
			}
		}
	}
	return fd, bi, nil
}

// forkOf is the fork among client-go's package roots: one whose path does not end in
// k8s.io/client-go (a fork imported by its own path, like github.com/acme/client-go),
// named by the module that holds it when the build info lists modules. Copies kept under
// client-go's own import path below another directory (vendor/, Godeps/_workspace/src/,
// third_party/) are client-go itself, placed by their function names.
func forkOf(bi *buildinfo.BuildInfo, roots []string) *Fork {
	for _, root := range roots {
		if root == ClientGoPath || strings.HasSuffix(root, "/"+ClientGoPath) {
			continue
		}
		var owner *debug.Module
		if bi != nil {
			for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
				if m.Path != "" && (root == m.Path || strings.HasPrefix(root, m.Path+"/")) && (owner == nil || len(m.Path) > len(owner.Path)) {
					owner = m
				}
			}
		}
		if owner == nil {
			return &Fork{Path: root}
		}
		return &Fork{Path: owner.Path, Version: owner.Version}
	}
	return nil
}

// packed reports whether an ELF file is UPX-packed: UPX writes its "UPX!" marker into the
// first page.
func packed(r io.ReaderAt) bool {
	head := make([]byte, 4096)
	n, _ := r.ReadAt(head, 0)
	return bytes.HasPrefix(head[:n], elfMagic) && bytes.Contains(head[:n], []byte("UPX!"))
}

// DependencyVersion is the version of module that the Go binary at path was built with
// (a replacement's version when replaced; the main module's when module is the one built,
// as for a `go build` of another module's tool); "" when the binary does not have it.
func DependencyVersion(path, module string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, bi, err := readBuildInfo(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	for _, d := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		if d.Path == module {
			if d.Replace != nil {
				return d.Replace.Version, nil
			}
			return d.Version, nil
		}
	}
	return "", nil
}
