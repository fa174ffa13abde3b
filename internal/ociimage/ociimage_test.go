package ociimage

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryLayerIsKeptBesideItsBinary: the compressed layer is written once, read back
// with the same digest, and made again when the binary is rebuilt.
func TestBinaryLayerIsKeptBesideItsBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "probe")
	require.NoError(t, os.WriteFile(bin, []byte("first build"), 0o755))
	first, err := BinaryLayer(bin, "probe")
	require.NoError(t, err)
	layerFile := bin + ".layer-probe.tar.gz"
	require.FileExists(t, layerFile)
	again, err := BinaryLayer(bin, "probe")
	require.NoError(t, err)
	d1, _ := first.Digest()
	d2, _ := again.Digest()
	assert.Equal(t, d1, d2)

	later := time.Now().Add(time.Second)
	require.NoError(t, os.WriteFile(bin, []byte("second build"), 0o755))
	require.NoError(t, os.Chtimes(bin, later, later))
	rebuilt, err := BinaryLayer(bin, "probe")
	require.NoError(t, err)
	d3, _ := rebuilt.Digest()
	assert.NotEqual(t, d1, d3, "a rebuilt binary gets a new layer")

	rc, err := rebuilt.Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	require.NoError(t, err)
	assert.Equal(t, "probe", h.Name)
	assert.Equal(t, int64(0o755), h.Mode)
	content, _ := io.ReadAll(tr)
	assert.Equal(t, "second build", string(content))
	leftovers, _ := filepath.Glob(bin + ".layer-*.tmp-*")
	assert.Empty(t, leftovers)
}
