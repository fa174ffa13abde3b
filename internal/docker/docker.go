// Package docker holds the few docker CLI queries shared by the image builders and the
// cluster code.
package docker

import (
	"context"
	"fmt"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
)

// ImageLabel returns a label of a local image; ok is false when the image or label is absent.
func ImageLabel(ctx context.Context, image, label string) (value string, ok bool) {
	out, err := hostcmd.Output(exec.CommandContext(ctx, "docker", "image", "inspect", "--format", fmt.Sprintf("{{index .Config.Labels %q}}", label), image))
	if err != nil || out == "" || out == "<no value>" {
		return "", false
	}
	return out, true
}

// ImageExists reports whether image is present locally (never pulls).
func ImageExists(ctx context.Context, image string) bool {
	_, err := hostcmd.Output(exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", image))
	return err == nil
}

// PruneDangling removes untagged images carrying label: builds superseded by a rebuild of
// the same tag. Images a container still uses are kept by docker.
func PruneDangling(ctx context.Context, label string) {
	_, _ = hostcmd.Output(exec.CommandContext(ctx, "docker", "image", "prune", "-f", "--filter", "label="+label))
}
