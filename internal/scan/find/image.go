package find

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
)

// maxBinarySize skips huge files: no Go program worth scanning is larger, and each
// candidate is copied to a temp file.
const maxBinarySize = 300 << 20

var (
	elfMagic  = []byte("\x7fELF")
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Image scans the Go binaries and @kubernetes/client-node packages and bundles of a local
// Docker image; it never pulls. A target that is an existing directory (an unpacked image, a
// Node.js application) is scanned as a directory tree instead (see Dir), so that
// `satoken scan DIR` works where anything but a file is taken for an image reference.
func Image(ctx context.Context, image string) ([]Finding, error) {
	if st, err := os.Stat(image); err == nil && st.IsDir() {
		return Dir(image)
	}
	if !docker.ImageExists(ctx, image) {
		return nil, fmt.Errorf("image %s is not present locally (docker pull/build it first)", image)
	}
	dir, err := os.MkdirTemp("", "satoken-scan-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "image.tar")
	if err := docker.Save(ctx, archive, image); err != nil {
		return nil, fmt.Errorf("save image %s: %w", image, err)
	}
	found, err := ScanSave(archive, image)
	if err != nil {
		return nil, fmt.Errorf("scan image %s: %w", image, err)
	}
	return found, nil
}

// ScanSave scans a `docker save` archive (legacy <id>/layer.tar or OCI blobs/sha256/…
// layout); target names the image in the findings.
func ScanSave(archive, target string) ([]Finding, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files, err := indexTar(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	layers, err := manifestLayers(files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	tmp, err := os.CreateTemp("", "satoken-scan-bin-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	merged := map[string]Finding{} // in-image path → finding, over the layers so far
	for _, name := range layers {
		layer, err := files.open(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		if err := scanLayer(layer, merged, tmp); err != nil {
			return nil, fmt.Errorf("%s: layer %s: %w", archive, name, err)
		}
	}
	dropPackagedBundles(merged)
	out := slices.SortedFunc(maps.Values(merged), func(a, b Finding) int { return strings.Compare(a.File, b.File) })
	for i := range out {
		out[i].Target = target
	}
	return out, nil
}

// tarIndex locates the members of an uncompressed tar file without extracting them.
type tarIndex struct {
	regular  map[string]*io.SectionReader
	symlinks map[string]string // legacy docker save links duplicate layers to one copy
}

func indexTar(f *os.File) (tarIndex, error) {
	idx := tarIndex{regular: map[string]*io.SectionReader{}, symlinks: map[string]string{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return idx, nil
		}
		if err != nil {
			return idx, err
		}
		name := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeReg:
			// tar.Reader reads headers block by block straight from f, so f's offset
			// is where this member's data starts.
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return idx, err
			}
			idx.regular[name] = io.NewSectionReader(f, off, h.Size)
		case tar.TypeSymlink:
			idx.symlinks[name] = path.Join(path.Dir(name), h.Linkname)
		}
	}
}

func (idx tarIndex) open(name string) (*io.SectionReader, error) {
	name = path.Clean(name)
	for range 10 {
		if r, ok := idx.regular[name]; ok {
			return io.NewSectionReader(r, 0, r.Size()), nil
		}
		target, ok := idx.symlinks[name]
		if !ok {
			break
		}
		name = target
	}
	return nil, fmt.Errorf("%s: not in the archive", name)
}

func manifestLayers(idx tarIndex) ([]string, error) {
	r, err := idx.open("manifest.json")
	if err != nil {
		return nil, fmt.Errorf("not a docker save archive: %w", err)
	}
	var manifest []struct{ Layers []string }
	if err := json.NewDecoder(r).Decode(&manifest); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(manifest) != 1 {
		return nil, fmt.Errorf("manifest.json lists %d images, want 1", len(manifest))
	}
	return manifest[0].Layers, nil
}

// scanLayer applies one layer to merged: its entries and whiteouts hide the lower layers'
// files, then its own Go binaries are added. tmp holds each ELF candidate, since build
// info and function names need random access.
func scanLayer(r io.Reader, merged map[string]Finding, tmp *os.File) error {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(len(zstdMagic))
	var layer io.Reader = br
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer gz.Close()
		layer = gz
	case bytes.HasPrefix(magic, zstdMagic):
		return errors.New("zstd-compressed layers are not supported")
	}
	added := map[string]Finding{}
	tr := tar.NewReader(layer)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + h.Name)
		dir, base := path.Split(name)
		switch {
		case base == ".wh..wh..opq": // opaque directory: the lower layers' content is gone
			deleteTree(merged, path.Clean(dir), false)
			continue
		case strings.HasPrefix(base, ".wh."):
			deleteTree(merged, path.Join(dir, strings.TrimPrefix(base, ".wh.")), true)
			continue
		}
		delete(merged, name)
		delete(added, name)
		switch h.Typeflag {
		case tar.TypeLink: // a hard link shares its target's content, earlier in this layer
			if fd, ok := added[path.Clean("/"+h.Linkname)]; ok {
				fd.File = name
				added[name] = fd
			}
		case tar.TypeReg:
			if h.Size > maxBinarySize {
				continue
			}
			var fd Finding
			var ok bool
			var err error
			if read := textReader(name); read != nil {
				fd, ok, err = read(tr)
			} else {
				fd, ok, err = goBinary(tr, h.Size, tmp)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if ok {
				fd.File = name
				added[name] = fd
			}
		}
	}
	maps.Copy(merged, added)
	return nil
}

// deleteTree removes the findings under dir, and dir itself when self is set.
func deleteTree(m map[string]Finding, dir string, self bool) {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for p := range m {
		if (self && p == dir) || strings.HasPrefix(p, prefix) {
			delete(m, p)
		}
	}
}

// goBinary reads an ELF file of size bytes from r as a Go binary; ok is false for anything
// else. Errors are I/O failures and Go binaries that cannot be judged (see readGoBinary).
func goBinary(r io.Reader, size int64, tmp *os.File) (fd Finding, ok bool, err error) {
	head := make([]byte, len(elfMagic))
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, elfMagic) {
		return Finding{}, false, nil
	}
	if err := tmp.Truncate(0); err != nil {
		return Finding{}, false, err
	}
	if _, err := tmp.WriteAt(head, 0); err != nil {
		return Finding{}, false, err
	}
	if _, err := io.Copy(io.NewOffsetWriter(tmp, int64(len(head))), r); err != nil {
		return Finding{}, false, err
	}
	fd, err = readGoBinary(io.NewSectionReader(tmp, 0, size))
	if errors.Is(err, ErrNotGoBinary) {
		return Finding{}, false, nil
	}
	return fd, err == nil, err
}
