package find

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find/findtest"
)

// TestLayerFindsClientNode: every client-node package.json at a package's root under a
// node_modules, nested copies included; other packages, and a manifest of another package
// at client-node's path, are not.
func TestLayerFindsClientNode(t *testing.T) {
	layer := gzipped(t, tarOf(t,
		member{name: "app/node_modules/@kubernetes/client-node/package.json", content: findtest.Manifest(ClientNodePackage, "0.10.3")},
		member{name: "app/node_modules/@kubernetes/client-node/dist/index.js", content: "exports.x = 1\n"},
		member{name: "app/node_modules/@kubernetes/client-node/dist/esm/package.json", content: `{"type":"module","name":"@kubernetes/client-node"}`}, // not a package root
		member{name: "app/node_modules/addon/node_modules/@kubernetes/client-node/package.json", content: "\xef\xbb\xbf" + findtest.Manifest(ClientNodePackage, "0.22.3")},
		member{name: "srv/node_modules/@kubernetes/client-node/package.json", content: findtest.Manifest("not-client-node", "1.0.0")},
		member{name: "srv/node_modules/broken/package.json", content: "{"}, // some package's broken manifest says nothing
		member{name: "app/package.json", content: findtest.Manifest("app", "1.0.0")},
	))
	found, err := Layer(bytes.NewReader(layer))
	require.NoError(t, err)
	require.Len(t, found, 2)
	require.Equal(t, "/app/node_modules/@kubernetes/client-node/package.json", found[0].File)
	require.Equal(t, "0.10.3", found[0].ClientGoVersion())
	require.True(t, found[0].IsClientNode())
	require.Equal(t, FromPackageJSON, found[0].ClientGoBy)
	require.Equal(t, "/app/node_modules/addon/node_modules/@kubernetes/client-node/package.json", found[1].File)
	require.Equal(t, "0.22.3", found[1].ClientGoVersion())

	_, err = Layer(bytes.NewReader(tarOf(t, member{name: "node_modules/@kubernetes/client-node/package.json", content: findtest.Manifest(ClientNodePackage, "")})))
	require.ErrorContains(t, err, "no version")
	_, err = Layer(bytes.NewReader(tarOf(t, member{name: "node_modules/@kubernetes/client-node/package.json", content: "{"})))
	require.ErrorContains(t, err, "package.json")
	_, err = Layer(bytes.NewReader(tarOf(t, member{name: "node_modules/k8s/package.json", content: `{"name":"@kubernetes/client-node",`})))
	require.ErrorContains(t, err, "package.json", "a broken manifest naming client-node cannot be passed over")
}

// TestScanNpmAliasRecognised: npm installs an alias ("k8s": "npm:@kubernetes/client-node@0.10.2")
// under the alias's directory; the manifest's name says what it is. A package renamed on
// publication (a fork) is another package.
func TestScanNpmAliasRecognised(t *testing.T) {
	for _, dir := range []string{"k8s", "@acme/kube-client", "@kubernetes/client-node-fork"} {
		layer := tarOf(t, member{name: "app/node_modules/" + dir + "/package.json", content: findtest.Manifest(ClientNodePackage, "0.10.2")},
			member{name: "app/node_modules/@acme/client-node/package.json", content: findtest.Manifest("@acme/client-node", "0.10.2")})
		found, err := Layer(bytes.NewReader(layer))
		require.NoError(t, err, dir)
		require.Len(t, found, 1, dir)
		require.Equal(t, "/app/node_modules/"+dir+"/package.json", found[0].File)
		require.True(t, found[0].IsClientNode(), dir)
		require.Equal(t, "0.10.2", found[0].ClientGoVersion(), dir)
	}
	for _, name := range []string{"app/node_modules/.bin/package.json", "app/node_modules/@scope/package.json", "node_modules/a/b/package.json", "xnode_modules/a/package.json"} {
		require.False(t, isPackageManifest("/"+name), name)
	}
}

// A later layer's whiteout removes a client-node installed below it, as for Go binaries.
func TestScanSaveClientNodeWhiteout(t *testing.T) {
	lower := tarOf(t,
		member{name: "app/node_modules/@kubernetes/client-node/package.json", content: findtest.Manifest(ClientNodePackage, "0.10.2")},
		member{name: "old/node_modules/@kubernetes/client-node/package.json", content: findtest.Manifest(ClientNodePackage, "0.10.2")},
	)
	upper := gzipped(t, tarOf(t,
		member{name: "old/.wh.node_modules"},
		member{name: "app/node_modules/@kubernetes/client-node/package.json", content: findtest.Manifest(ClientNodePackage, "1.4.0")},
	))
	archive := tarOf(t,
		member{name: "lower/layer.tar", content: string(lower)},
		member{name: "blobs/sha256/up", content: string(upper)},
		member{name: "manifest.json", content: `[{"Layers":["lower/layer.tar","blobs/sha256/up"]}]`},
	)
	path := filepath.Join(t.TempDir(), "image.tar")
	require.NoError(t, os.WriteFile(path, archive, 0o644))
	found, err := ScanSave(path, "satoken/probe:js")
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, "satoken/probe:js", found[0].Target)
	require.Equal(t, "1.4.0", found[0].ClientGoVersion())
}

// Dir scans an application tree; Image takes an existing directory for one.
func TestDirFindsClientNodeAndGoBinaries(t *testing.T) {
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o755))
	}
	write("node_modules/@kubernetes/client-node/package.json", findtest.Manifest(ClientNodePackage, "1.4.0"))
	write("node_modules/@kubernetes/client-node/README.md", "docs")
	write("bin/not-go", "\x7fELF not really")
	write(".git/node_modules/@kubernetes/client-node/package.json", findtest.Manifest(ClientNodePackage, "0.0.1"))
	bin, err := os.ReadFile(tinyBinary(t))
	require.NoError(t, err)
	write("bin/tiny", string(bin))

	for _, scan := range []func() ([]Finding, error){
		func() ([]Finding, error) { return Dir(root) },
		func() ([]Finding, error) { return Image(context.Background(), root) },
	} {
		found, err := scan()
		require.NoError(t, err)
		require.Len(t, found, 2)
		require.Equal(t, "/bin/tiny", found[0].File)
		require.Equal(t, "example.com/tiny", found[0].MainModule)
		require.Nil(t, found[0].ClientGo)
		require.Equal(t, "/node_modules/@kubernetes/client-node/package.json", found[1].File)
		require.Equal(t, "1.4.0", found[1].ClientGoVersion())
		require.Equal(t, root, found[1].Target)
	}
}
