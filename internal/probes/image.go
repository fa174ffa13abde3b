package probes

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/ociimage"
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
	l, err := ociimage.BinaryLayer(b.Binary, "probe")
	if err != nil {
		return nil, err
	}
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
		l, err := ociimage.FileLayer(file)
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

// image is what every probe image shares: run as nobody, labelled with the probe and
// its inputs hash (plus labels of its language).
func (b Built) image(layers []v1.Layer, config v1.Config, labels map[string]string) (v1.Image, error) {
	config.User = "65534:65534"
	all := map[string]string{inputsLabel: b.InputHash, "satoken.probe.label": b.Probe.Label}
	for k, v := range labels {
		all[k] = v
	}
	return ociimage.Image(layers, config, all)
}
