package action

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
)

// upload emulates actions/upload-artifact: the files of with.path (one path or glob a
// line, relative to the workspace) are copied to <Artifacts>/<with.name>, a directory's
// contents at the top as in the uploaded zip; with.if-no-files-found decides whether
// nothing to upload fails (error), warns (warn, the default) or passes quietly (ignore).
func (r *runner) upload(with map[string]string) (string, error) {
	name := with["name"]
	if name == "" {
		name = "artifact"
	}
	var found []string
	for _, line := range strings.Split(with["path"], "\n") {
		pattern := strings.TrimSpace(line)
		if pattern == "" {
			continue
		}
		if strings.HasPrefix(pattern, "!") {
			return "", fmt.Errorf("upload-artifact path %q: exclusions are not emulated locally", pattern)
		}
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(r.in.Workdir, pattern)
		}
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return "", fmt.Errorf("upload-artifact path %q: %w", line, err)
		}
		found = append(found, matches...)
	}
	if len(found) == 0 {
		msg := fmt.Sprintf("upload-artifact %q: no files found at %q", name, with["path"])
		switch with["if-no-files-found"] {
		case "error":
			return "", errors.New(msg)
		case "ignore":
			return msg, nil
		default:
			return "warning: " + msg, nil
		}
	}
	dest := filepath.Join(r.in.Artifacts, name)
	// A local run replaces the artifact of the previous one rather than mixing with it.
	if err := os.RemoveAll(dest); err != nil {
		return "", err
	}
	for _, src := range found {
		if err := copyTree(src, dest); err != nil {
			return "", fmt.Errorf("upload-artifact %q: %w", name, err)
		}
	}
	return fmt.Sprintf("upload-artifact %q emulated: copied to %s", name, dest), nil
}

// copyTree copies a file into dir, or a directory's contents into dir, keeping symlinks
// as symlinks.
func copyTree(src, dir string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	base := src
	if !info.IsDir() {
		base = filepath.Dir(src)
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return fileutil.Copy(path, dst, fi.Mode().Perm())
		default:
			return nil // sockets, devices: nothing to keep
		}
	})
}
