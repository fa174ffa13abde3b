// Package cache locates the harness's cache outside the clone, so a fresh clone reuses
// Kubernetes builds, rootfs tarballs and probe binaries from earlier runs.
package cache

import (
	"os"
	"path/filepath"
)

// Dir returns $SATOKEN_CACHE, or <user cache dir>/satoken, creating it.
func Dir(sub ...string) (string, error) {
	base := os.Getenv("SATOKEN_CACHE")
	if base == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(uc, "satoken")
	}
	dir := filepath.Join(append([]string{base}, sub...)...)
	return dir, os.MkdirAll(dir, 0o755)
}
