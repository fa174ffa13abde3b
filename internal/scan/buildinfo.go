// Package scan finds the k8s.io/client-go version compiled into Go binaries (files or the
// layers of a local Docker image) and predicts, from a table of measured verdicts, whether
// they survive ServiceAccount token expiry.
package scan

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
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
	Target     string      `json:"target"`         // the file or image reference given
	File       string      `json:"file,omitempty"` // path inside the image
	MainModule string      `json:"mainModule"`
	GoVersion  string      `json:"goVersion"`
	ClientGo   *Module     `json:"clientGo"` // nil: the binary does not link client-go
	Prediction *Prediction `json:"prediction,omitempty"`
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

// ClientGo reads the build info of the binary at path.
func ClientGo(path string) (Finding, error) {
	f, err := os.Open(path)
	if err != nil {
		return Finding{}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	fd, err := readBuildInfo(f)
	if err != nil {
		return Finding{}, fmt.Errorf("%w: %s: %v", ErrNotGoBinary, path, err)
	}
	fd.Target = path
	return fd, nil
}

func readBuildInfo(r io.ReaderAt) (Finding, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return Finding{}, err
	}
	fd := Finding{MainModule: bi.Main.Path, GoVersion: bi.GoVersion}
	for _, d := range bi.Deps {
		if d.Path != ClientGoPath {
			continue
		}
		fd.ClientGo = &Module{Path: d.Path, Version: d.Version}
		if d.Replace != nil {
			fd.ClientGo.Replace = &Module{Path: d.Replace.Path, Version: d.Replace.Version}
		}
	}
	return fd, nil
}
