package check

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
)

// kustomizationFiles are the names kustomize recognises as a kustomization root.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// LoadManifests reads a manifest file, a kustomization directory (rendered in-process, as
// `kubectl kustomize` would), or every *.yaml, *.yml and *.json of a directory (sorted,
// not recursive).
func LoadManifests(path string) ([]*unstructured.Unstructured, error) {
	if path == "" {
		return nil, field.Required(field.NewPath("Manifests"), "a file, a kustomization directory, or a directory of manifests")
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, field.Invalid(field.NewPath("Manifests"), path, err.Error())
	}
	var objs []*unstructured.Unstructured
	switch {
	case !st.IsDir():
		objs, err = decodeFiles([]string{path})
	case isKustomization(path):
		objs, err = kustomize(path)
	default:
		var files []string
		for _, pattern := range []string{"*.yaml", "*.yml", "*.json"} {
			m, _ := filepath.Glob(filepath.Join(path, pattern))
			files = append(files, m...)
		}
		objs, err = decodeFiles(files)
	}
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, field.Invalid(field.NewPath("Manifests"), path, "no Kubernetes objects found")
	}
	return objs, nil
}

func isKustomization(dir string) bool {
	for _, name := range kustomizationFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

func kustomize(dir string) ([]*unstructured.Unstructured, error) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	data, err := resources.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	objs, err := kube.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	return objs, nil
}

func decodeFiles(files []string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, err := kube.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		objs = append(objs, docs...)
	}
	return objs, nil
}
