//go:build e2e

package nodeimage

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/cache"
)

// validateProgram asks the apiserver's own validation code about a 2-minute token: a
// TokenRequest (what the kubelet sends) and a pod's projected token volume.
const validateProgram = `package main

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kubernetes/pkg/apis/authentication"
	authnvalidation "k8s.io/kubernetes/pkg/apis/authentication/validation"
	"k8s.io/kubernetes/pkg/apis/core"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
)

func main() {
	tr := &authentication.TokenRequest{Spec: authentication.TokenRequestSpec{ExpirationSeconds: 120}}
	fmt.Printf("tokenrequest=%d ", len(authnvalidation.ValidateTokenRequest(tr)))
	vols := []core.Volume{{Name: "token", VolumeSource: core.VolumeSource{Projected: &core.ProjectedVolumeSource{
		Sources: []core.VolumeProjection{{ServiceAccountToken: &core.ServiceAccountTokenProjection{ExpirationSeconds: 120, Path: "token"}}}}}}}
	_, errs := corevalidation.ValidateVolumes(vols, &metav1.ObjectMeta{}, field.NewPath("volumes"), corevalidation.PodValidationOptions{})
	fmt.Printf("projected=%d", len(errs))
}
`

// TestAcceleratedAPIServerAcceptsShortTokens: compiled with the patch, the apiserver's
// validation accepts a 2-minute token that stock refuses, both as a TokenRequest and as a
// projected volume (the default Kubernetes version; the patch's text applies to every
// verified one, TestAcceleratedPatchesApply).
func TestAcceleratedAPIServerAcceptsShortTokens(t *testing.T) {
	ctx := context.Background()
	v := DefaultKubernetesVersion
	kubeDir, err := cache.Dir("kubernetes", v)
	require.NoError(t, err)
	src, err := moduleTree(ctx, kubeDir, v)
	require.NoError(t, err)
	gomod, err := downloadGoMod(ctx, "k8s.io/kubernetes", v)
	require.NoError(t, err)
	mod, err := buildModule(gomod, v, src)
	require.NoError(t, err)
	work := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, "go.mod"), mod, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(work, "main.go"), []byte(validateProgram), 0o644))
	overlay, _, err := patchOverlay(src.Dir, v, t.TempDir())
	require.NoError(t, err)

	run := func(extra ...string) string {
		cmd := exec.Command("go", append(append([]string{"run", "-trimpath"}, extra...), ".")...)
		cmd.Dir, cmd.Env = work, append(os.Environ(), goBuildEnv...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	require.Equal(t, "tokenrequest=1 projected=1", run(), "stock refuses a 2-minute token")
	require.Equal(t, "tokenrequest=0 projected=0", run("-overlay", overlay), "the accelerated apiserver accepts it")
}
