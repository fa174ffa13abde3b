// Package artifacts guards what the harness writes: no bearer token may appear in any
// report, log or exported cluster file.
package artifacts

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// jwt matches a compact JWS whose header is a JSON object (base64url of `{"` is `eyJ`)
// with a non-trivial payload and signature: the shape of every ServiceAccount token.
var jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}`)

// Finding is one token-shaped string in a file; the token itself is not kept.
type Finding struct {
	File string
	Line int
}

func (f Finding) String() string { return fmt.Sprintf("%s:%d", f.File, f.Line) }

// ScanForTokens walks dir and reports every line holding a JWT-shaped string.
func ScanForTokens(dir string) ([]Finding, error) {
	var out []Finding
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for n := 1; sc.Scan(); n++ {
			if jwt.Match(sc.Bytes()) {
				out = append(out, Finding{File: path, Line: n})
			}
		}
		return sc.Err()
	})
	return out, err
}
