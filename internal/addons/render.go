package addons

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
)

// ModuleDir is where the Go module cache holds module@version, downloading it through the
// module proxy when it is not there yet.
func ModuleDir(ctx context.Context, module, version string) (string, error) {
	info, err := gocmd.Download(ctx, gocmd.Outside(), module, version)
	if err != nil {
		return "", err
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no directory", module, version)
	}
	return info.Dir, nil
}

// Render puts the add-on's manifests or chart, as they ship, into dir (placeholders
// substituted as the shipping project's scripts do) and returns the `satoken check` flags
// that deploy them.
func (a Addon) Render(ctx context.Context, dir string) ([]string, error) {
	src, flag := a.Manifests, "--manifests"
	if a.Chart != nil {
		src, flag = a.Chart, "--chart"
	}
	mod, err := ModuleDir(ctx, src.Module, src.Version)
	if err != nil {
		return nil, err
	}
	from := filepath.Join(mod, filepath.FromSlash(src.Path))
	to := filepath.Join(dir, filepath.Base(from))
	if err := copyTree(from, to, src.Substitute); err != nil {
		return nil, err
	}
	flags := []string{flag, to}
	for _, s := range src.Set {
		flags = append(flags, "--set", s)
	}
	return append(flags, a.CheckArgs...), nil
}

// copyTree copies a file or directory (the module cache's files are read-only; the copies
// are not), replacing every placeholder of subst in each file.
func copyTree(from, to string, subst map[string]string) error {
	keys := make([]string, 0, len(subst))
	for k := range subst {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) }) // $DNS_SERVER_IP before $DNS_SERVER
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(data)
		for _, k := range keys {
			text = strings.ReplaceAll(text, k, subst[k])
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(text), 0o644)
	})
}
