// Package scan finds the k8s.io/client-go version compiled into Go binaries (files or the
// layers of a local Docker image) and predicts, from a table of measured verdicts, whether
// they survive ServiceAccount token expiry. The version comes from the module list in the
// build info; binaries without one (GOPATH mode with a vendored client-go, the v8–v11 era)
// or with a version that cannot be placed (a local replace) are placed by the client-go
// function names in their pclntab, against fingerprints taken from the probe matrix.
// Node.js programs are found by the package.json of @kubernetes/client-node in their
// node_modules (clientnode.go), and predicted from the table's client-node entries.
package scan

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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

// Finding is one Go binary.
type Finding struct {
	Target     string  `json:"target"`         // the file or image reference given
	File       string  `json:"file,omitempty"` // path inside the image
	MainModule string  `json:"mainModule"`
	GoVersion  string  `json:"goVersion"`            // "" for Go < 1.13 (no build info)
	ClientGo   *Module `json:"clientGo"`             // nil: the binary does not link client-go
	ClientGoBy string  `json:"clientGoBy,omitempty"` // FromBuildInfo or FromSymbols (then Version is "")
	// VendorPrefix is what preceded k8s.io/client-go/ in the function names of a vendored
	// copy (e.g. "example.com/addon/vendor/"); several copies are listed with ", ", and
	// their names are matched together.
	VendorPrefix string      `json:"vendorPrefix,omitempty"`
	Prediction   *Prediction `json:"prediction,omitempty"`

	// funcs are the client-go function names (vendor prefix cut), kept to place the
	// version when the build info cannot.
	funcs []string
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
// whose names cannot be read is an error: "does not link client-go" would be a guess.
func readGoBinary(r io.ReaderAt) (Finding, error) {
	fd, modules, biErr := readBuildInfo(r)
	names, symErr := funcNames(r)
	if biErr != nil && symErr != nil {
		return Finding{}, fmt.Errorf("%w: %v", ErrNotGoBinary, biErr)
	}
	var prefixes []string
	if symErr == nil {
		fd.funcs, prefixes = clientGoFuncs(names)
	}
	if len(fd.funcs) > 0 && (len(prefixes) > 1 || prefixes[0] != "") {
		for i, p := range prefixes {
			if p == "" {
				prefixes[i] = "(not vendored)"
			}
		}
		fd.VendorPrefix = strings.Join(prefixes, ", ")
	}
	switch {
	case fd.ClientGo != nil:
		fd.ClientGoBy = FromBuildInfo
	case len(fd.funcs) > 0:
		fd.ClientGo, fd.ClientGoBy = &Module{Path: ClientGoPath}, FromSymbols
	case symErr != nil && !modules:
		return Finding{}, fmt.Errorf("no module list in the build info and no readable function names (%v): cannot tell whether it links client-go", symErr)
	}
	return fd, nil
}

// readBuildInfo reads the build info; modules is false when it has no module list
// (GOPATH mode), so that no client-go in it means nothing.
func readBuildInfo(r io.ReaderAt) (fd Finding, modules bool, err error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return Finding{}, false, err
	}
	fd = Finding{MainModule: bi.Main.Path, GoVersion: bi.GoVersion}
	for _, d := range bi.Deps {
		if d.Path != ClientGoPath {
			continue
		}
		fd.ClientGo = &Module{Path: d.Path, Version: d.Version}
		if d.Replace != nil {
			fd.ClientGo.Replace = &Module{Path: d.Replace.Path, Version: d.Replace.Version}
		}
	}
	return fd, bi.Main.Path != "", nil
}
