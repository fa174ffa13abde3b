package nodeimage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAcceleratedPatchesApply: the apiserver patch applies to every Kubernetes version
// this host builds (the module source as published), each replaced line exactly once.
func TestAcceleratedPatchesApply(t *testing.T) {
	for _, v := range verified {
		t.Run(v.Version, func(t *testing.T) {
			dir, err := moduleDir(context.Background(), "k8s.io/kubernetes", v.Version)
			require.NoError(t, err)
			overlay, key, err := patchOverlay(dir, v.Version, t.TempDir())
			require.NoError(t, err)
			require.NotEmpty(t, key)
			data, err := os.ReadFile(overlay)
			require.NoError(t, err)
			var o struct{ Replace map[string]string }
			require.NoError(t, json.Unmarshal(data, &o))
			require.Len(t, o.Replace, len(acceleratedPatches))
			for _, p := range acceleratedPatches {
				patched, err := os.ReadFile(o.Replace[filepath.Join(dir, p.File)])
				require.NoError(t, err)
				require.NotContains(t, string(patched), p.Old, p.File)
				require.Contains(t, string(patched), p.New, p.File)
			}
		})
	}
}

// TestAcceleratedPatchRefusesMovedCode: a release whose minimum is no longer where the
// patch looks (or is enforced twice) fails the build, naming the file and the version.
func TestAcceleratedPatchRefusesMovedCode(t *testing.T) {
	for name, content := range map[string]string{
		"moved":   "package validation\n\nconst minTokenSeconds = 600\n",
		"doubled": "if a < 10*60 {\n}\nif b < 10*60 {\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			tree := t.TempDir()
			for _, p := range acceleratedPatches {
				require.NoError(t, os.MkdirAll(filepath.Join(tree, filepath.Dir(p.File)), 0o755))
				body := p.Old + "\n"
				if strings.HasPrefix(p.File, "pkg/apis/core/") {
					body = content
				}
				require.NoError(t, os.WriteFile(filepath.Join(tree, p.File), []byte(body), 0o644))
			}
			_, _, err := patchOverlay(tree, "v1.99.0", t.TempDir())
			require.ErrorContains(t, err, "no longer applies to Kubernetes v1.99.0: pkg/apis/core/validation/validation.go")
		})
	}
}

func TestAcceleratedImageName(t *testing.T) {
	require.Equal(t, "satoken/kind-node:v1.34.4-fast", AcceleratedImageName("v1.34.4"))
}
