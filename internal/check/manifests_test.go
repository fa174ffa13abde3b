package check

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

const podYAML = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: img}]
`

func TestLoadManifestsKustomization(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pod.yaml"), podYAML)
	writeFile(t, filepath.Join(dir, "ignored.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: not-listed}\n")
	writeFile(t, filepath.Join(dir, "kustomization.yaml"), "resources: [pod.yaml]\nnamespace: addon\nnamePrefix: my-\n")
	objs, err := LoadManifests(dir)
	require.NoError(t, err)
	require.Len(t, objs, 1, "only the kustomization's resources")
	require.Equal(t, "my-p", objs[0].GetName())
	require.Equal(t, "addon", objs[0].GetNamespace())
}

func TestLoadManifestsDirectoryAndFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), podYAML)
	writeFile(t, filepath.Join(dir, "b.json"), `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"sa"}}`)
	writeFile(t, filepath.Join(dir, "notes.txt"), "not a manifest")
	objs, err := LoadManifests(dir)
	require.NoError(t, err)
	require.Len(t, objs, 2)

	objs, err = LoadManifests(filepath.Join(dir, "a.yaml"))
	require.NoError(t, err)
	require.Len(t, objs, 1)
}

func TestLoadManifestsBadInput(t *testing.T) {
	_, err := LoadManifests("")
	var fe *field.Error
	require.ErrorAs(t, err, &fe, "an input error names its field, for the CLI to name the flag")
	require.Equal(t, "Manifests", fe.Field)
	require.Equal(t, field.ErrorTypeRequired, fe.Type)
	_, err = LoadManifests(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorContains(t, err, "no such file")
	_, err = LoadManifests(t.TempDir())
	require.ErrorContains(t, err, "no Kubernetes objects found")

	broken := t.TempDir()
	writeFile(t, filepath.Join(broken, "kustomization.yaml"), "resources: [absent.yaml]\n")
	_, err = LoadManifests(broken)
	require.ErrorContains(t, err, "kustomize "+broken)
}
