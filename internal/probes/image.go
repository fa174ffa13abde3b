package probes

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI is the probe's image, built in Go: FROM scratch, the static binary as /probe, run
// as nobody, labelled with its inputs. It is the one recipe behind every place a probe
// image goes (the local docker engine, kind nodes, a registry) and needs no Docker. Its
// digest depends only on the binary and the labels (no timestamps).
//
// A JavaScript probe's image is its two layers (the Node.js base, the app) with node as
// the entrypoint; see ociJS.
func (b Built) OCI() (v1.Image, error) {
	if b.Probe.IsJS() {
		return b.ociJS()
	}
	bin, err := os.ReadFile(b.Binary)
	if err != nil {
		return nil, err
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	if err := tw.WriteHeader(&tar.Header{Name: "probe", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := layer.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	// The binary is built by the host's go for its own platform (CGO off, no cross-compile).
	return b.image([]v1.Layer{l}, v1.Config{Entrypoint: []string{"/probe"}},
		map[string]string{"satoken.probe.client-go": b.Probe.Module})
}

// ociJS is a JavaScript probe's image: the cached base and app layers as they are on
// disk (gzip-compressed; the digests are those of the files), node as the entrypoint, run
// as nobody from /app, labelled with its inputs. The base layer is the same file for
// every version, so engines and registries store it once.
func (b Built) ociJS() (v1.Image, error) {
	if len(b.Layers) != 2 {
		return nil, fmt.Errorf("probe %s: %d image layers, want the Node.js base and the app", b.Probe.Label, len(b.Layers))
	}
	var layers []v1.Layer
	for _, file := range b.Layers {
		l, err := tarball.LayerFromFile(file, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	// The base is debootstrapped from the host's apt mirror for its own architecture.
	return b.image(layers, v1.Config{
		Entrypoint: []string{"/usr/bin/node", "/app/probe.js"},
		WorkingDir: "/app",
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"},
	}, map[string]string{"satoken.probe.client-node": b.Probe.LibraryVersion(), "satoken.probe.nodejs": b.NodeJS})
}

// image is what every probe image shares: OCI media types, this host's platform, run as
// nobody, labelled with the probe and its inputs hash (plus labels of its language).
func (b Built) image(layers []v1.Layer, config v1.Config, labels map[string]string) (v1.Image, error) {
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
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	config.User = "65534:65534"
	config.Labels = map[string]string{inputsLabel: b.InputHash, "satoken.probe.label": b.Probe.Label}
	for k, v := range labels {
		config.Labels[k] = v
	}
	cfg.Config = config
	return mutate.ConfigFile(img, cfg)
}
