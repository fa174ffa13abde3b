package find

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

type member struct {
	name, content, link string
	typ                 byte
}

func tarOf(t *testing.T, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Mode: 0o755, Typeflag: m.typ, Linkname: m.link}
		if h.Typeflag == 0 {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(m.content))
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(m.content))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// TestScanSave walks a synthetic docker save archive mixing the legacy and OCI layouts:
// an empty base layer, a plain layer, a gzip layer with whiteouts, and a duplicate layer
// stored as a symlink. manifest.json comes last, as in some docker versions.
func TestScanSave(t *testing.T) {
	goBin, err := os.ReadFile(tinyBinary(t))
	require.NoError(t, err)
	bin := string(goBin)

	base := tarOf(t, member{name: "etc/", typ: tar.TypeDir})
	lower := tarOf(t,
		member{name: "usr/bin/tiny", content: bin},
		member{name: "usr/bin/gone", content: bin},
		member{name: "usr/bin/replaced", content: bin},
		member{name: "opt/app/tool", content: bin},
		member{name: "./bin/script", content: "#!/bin/sh\n"},
		member{name: "usr/lib/fake.so", content: "\x7fELF not really"},
		member{name: "etc/tiny", content: "x"},
	)
	upper := gzipped(t, tarOf(t,
		member{name: "usr/bin/.wh.gone"},
		member{name: "usr/bin/replaced", content: "now a text file\n"},
		member{name: "opt/app/.wh..wh..opq"},
		member{name: "opt/app/new", content: bin},
		member{name: "usr/local/bin/real", content: bin},
		member{name: "usr/local/bin/link", typ: tar.TypeLink, link: "usr/local/bin/real"},
	))
	upperBlob := "blobs/sha256/" + "ab12"
	archive := tarOf(t,
		member{name: "base/layer.tar", content: string(base)},
		member{name: "lower/layer.tar", content: string(lower)},
		member{name: upperBlob, content: string(upper)},
		member{name: "dup/layer.tar", typ: tar.TypeSymlink, link: "../base/layer.tar"},
		member{name: "manifest.json", content: `[{"Config":"c.json","RepoTags":["example/app:1"],"Layers":["base/layer.tar","lower/layer.tar","` + upperBlob + `","dup/layer.tar"]}]`},
	)
	path := filepath.Join(t.TempDir(), "image.tar")
	require.NoError(t, os.WriteFile(path, archive, 0o644))

	found, err := ScanSave(path, "example/app:1")
	require.NoError(t, err)
	var files []string
	for _, f := range found {
		require.Equal(t, "example/app:1", f.Target)
		require.Equal(t, "example.com/tiny", f.MainModule)
		require.Nil(t, f.ClientGo)
		files = append(files, f.File)
	}
	require.Equal(t, []string{"/opt/app/new", "/usr/bin/tiny", "/usr/local/bin/link", "/usr/local/bin/real"}, files)
}

func TestScanSaveRejectsOtherArchives(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain.tar")
	require.NoError(t, os.WriteFile(path, tarOf(t, member{name: "hello", content: "hi"}), 0o644))
	_, err := ScanSave(path, "x")
	require.ErrorContains(t, err, "not a docker save archive")

	missing := tarOf(t, member{name: "manifest.json", content: `[{"Layers":["nope/layer.tar"]}]`})
	require.NoError(t, os.WriteFile(path, missing, 0o644))
	_, err = ScanSave(path, "x")
	require.ErrorContains(t, err, "nope/layer.tar: not in the archive")
}
