// Package cache locates the harness's cache outside the clone, so a fresh clone reuses
// Kubernetes builds, rootfs tarballs and probe binaries from earlier runs.
package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
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

// Hasher is an input hash (the cache key of a build): named, length-prefixed fields, so that no two different sets
// of inputs hash alike.
type Hasher struct{ h hash.Hash }

// NewHasher starts an input hash.
func NewHasher() Hasher { return Hasher{sha256.New()} }

// Field adds a named value.
func (h Hasher) Field(name string, data []byte) {
	fmt.Fprintf(h.h, "%s %d\n", name, len(data))
	h.h.Write(data)
}

// File adds a file's content under name.
func (h Hasher) File(name, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	h.Field("file "+filepath.ToSlash(name), b)
	return nil
}

// Files adds each file under its name relative to root (so that a checkout and the
// unpacked tree hash alike).
func (h Hasher) Files(root string, files []string) error {
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		if err := h.File(rel, f); err != nil {
			return err
		}
	}
	return nil
}

// Sum is the hash so far, shortened to 16 hex digits.
func (h Hasher) Sum() string { return hex.EncodeToString(h.h.Sum(nil))[:16] }
