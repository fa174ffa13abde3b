package probes

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/require"
)

// reproducible builds b's image twice and requires the same digest: no timestamps.
func reproducible(t *testing.T, b Built) (v1.Image, v1.Hash) {
	t.Helper()
	img, err := b.OCI()
	require.NoError(t, err)
	again, err := b.OCI()
	require.NoError(t, err)
	d1, err := img.Digest()
	require.NoError(t, err)
	d2, err := again.Digest()
	require.NoError(t, err)
	require.Equal(t, d1, d2, "same inputs, same digest")
	return img, d1
}

func TestOCIImageIsReproducible(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "probe")
	require.NoError(t, os.WriteFile(bin, []byte("\x7fELF not really"), 0o755))
	b := Built{Probe: Probe{Label: "v8.0.0", Module: "v8.0.0+incompatible"}, Binary: bin, Image: ImageName("v8.0.0"), InputHash: "abc"}

	img, d1 := reproducible(t, b)

	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, []string{"/probe"}, cfg.Config.Entrypoint)
	require.Equal(t, "65534:65534", cfg.Config.User)
	require.Equal(t, "abc", cfg.Config.Labels[inputsLabel])
	require.Equal(t, "v8.0.0+incompatible", cfg.Config.Labels["satoken.probe.client-go"])

	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	require.NoError(t, err)
	require.Equal(t, "probe", h.Name)
	require.Equal(t, int64(0o755), h.Mode)
	data, err := io.ReadAll(tr)
	require.NoError(t, err)
	require.Equal(t, "\x7fELF not really", string(data))
	_, err = tr.Next()
	require.Equal(t, io.EOF, err, "the binary alone")

	b.InputHash = "def"
	other, err := b.OCI()
	require.NoError(t, err)
	d3, err := other.Digest()
	require.NoError(t, err)
	require.NotEqual(t, d1, d3, "the inputs label is part of the image")
}
