// Package ociimage builds the images satoken makes in Go, without Docker: OCI media
// types, this host's platform, no timestamps (the digest depends only on the content and
// the config), labelled with the inputs hash their builds are cached by.
package ociimage

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image assembles layers under config (its OS, architecture and labels are set here).
func Image(layers []v1.Layer, config v1.Config, labels map[string]string) (v1.Image, error) {
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	// Binaries are built by the host's go for its own platform (CGO off, no cross-compile).
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	config.Labels = labels
	cfg.Config = config
	return mutate.ConfigFile(img, cfg)
}

// BinaryLayer is one layer holding a static binary at path (relative to /), mode 0755.
// The compressed layer is kept beside the binary (rewritten when the binary is newer):
// compressing every probe binary again was most of the time a run spent shipping its
// images, and a layer read from a file costs only the hashing of it.
func BinaryLayer(binary, path string) (v1.Layer, error) {
	layer := binary + ".layer-" + strings.ReplaceAll(strings.Trim(path, "/"), "/", "_") + ".tar.gz"
	if !newer(layer, binary) {
		if err := writeBinaryLayer(binary, path, layer); err != nil {
			return nil, err
		}
	}
	return FileLayer(layer)
}

// fileLayers are the layers read from files in this process, by path, size and time: a
// layer's digests are computed once (the Node.js base layer is shared by every
// JavaScript probe, and hashing it again for each was most of their images' cost).
var fileLayers = struct {
	sync.Mutex
	m map[string]v1.Layer
}{m: map[string]v1.Layer{}}

// FileLayer is the gzip-compressed layer in file (its digests those of the file).
func FileLayer(file string) (v1.Layer, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", file, st.Size(), st.ModTime().UnixNano())
	fileLayers.Lock()
	defer fileLayers.Unlock()
	if l, ok := fileLayers.m[key]; ok {
		return l, nil
	}
	l, err := tarball.LayerFromFile(file, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	fileLayers.m[key] = l
	return l, nil
}

// newer reports whether file exists and was written after the one it is made from.
func newer(file, from string) bool {
	f, err := os.Stat(file)
	if err != nil {
		return false
	}
	src, err := os.Stat(from)
	return err == nil && f.ModTime().After(src.ModTime())
}

// writeBinaryLayer writes the gzip-compressed layer through a temporary file, so an
// interrupted write never leaves a layer that looks made.
func writeBinaryLayer(binary, path, layer string) error {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(layer), filepath.Base(layer)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	tw := tar.NewWriter(zw)
	err = tw.WriteHeader(&tar.Header{Name: path, Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg, Format: tar.FormatPAX})
	if err == nil {
		_, err = tw.Write(bin)
	}
	for _, c := range []io.Closer{tw, zw, tmp} {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("image layer of %s: %w", binary, err)
	}
	return os.Rename(tmp.Name(), layer)
}
