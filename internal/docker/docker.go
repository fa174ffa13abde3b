// Package docker holds the few docker CLI queries shared by the image builders and the
// cluster code.
package docker

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
)

// InputsLabel records, on every image satoken builds, the hash of everything that went
// into it: the cache key of its build.
const InputsLabel = "satoken.inputs"

// UpToDate is the one "rebuild when the inputs changed" check: image exists and was built
// from inputs with this hash.
func UpToDate(ctx context.Context, image, hash string) bool {
	have, ok := ImageLabel(ctx, image, InputsLabel)
	return ok && have == hash
}

// BuiltBySatoken reports whether image is one of satoken's builds.
func BuiltBySatoken(ctx context.Context, image string) bool {
	_, ok := ImageLabel(ctx, image, InputsLabel)
	return ok
}

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

// PruneDangling removes satoken's untagged images: builds superseded by a rebuild of the
// same tag. Images a container still uses are kept by docker.
func PruneDangling(ctx context.Context) {
	_, _ = hostcmd.Output(exec.CommandContext(ctx, "docker", "image", "prune", "-f", "--filter", "label="+InputsLabel))
}

// Answers reports whether a docker engine answers (the client alone is not enough).
func Answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := hostcmd.Output(exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}"))
	return err == nil
}

// DefaultRuntime is the OCI runtime the engine starts containers with.
func DefaultRuntime(ctx context.Context) (string, error) {
	return hostcmd.Output(exec.CommandContext(ctx, "docker", "info", "--format", "{{.DefaultRuntime}}"))
}

// NetworkGateway is the IPv4 gateway of a docker network: the host's address on it, which
// the network's containers reach.
func NetworkGateway(ctx context.Context, network string) (string, error) {
	out, err := hostcmd.Output(exec.CommandContext(ctx, "docker", "network", "inspect", network, "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}"))
	if err != nil {
		return "", err
	}
	for _, gw := range strings.Fields(out) {
		if ip := net.ParseIP(gw); ip != nil && ip.To4() != nil {
			return gw, nil
		}
	}
	return "", fmt.Errorf("docker network %s has no IPv4 gateway (%q)", network, out)
}

// Save writes images to an archive (docker save format).
func Save(ctx context.Context, archive string, images ...string) error {
	_, err := hostcmd.Output(exec.CommandContext(ctx, "docker", append([]string{"save", "-o", archive}, images...)...))
	return err
}

// Build builds the context directory ctxDir as tag.
func Build(ctx context.Context, tag, ctxDir string) error {
	_, err := hostcmd.Output(exec.CommandContext(ctx, "docker", "build", "-q", "-t", tag, ctxDir))
	return err
}

// Remove removes images, best effort and even after Ctrl-C (a cleanup): a failure leaves
// a stray image behind, nothing a build's result depends on.
func Remove(ctx context.Context, images ...string) {
	_, _ = hostcmd.Output(exec.CommandContext(context.WithoutCancel(ctx), "docker", append([]string{"rmi"}, images...)...))
}

// RemoveContainer removes a container and its anonymous volumes, best effort and even
// after Ctrl-C.
func RemoveContainer(ctx context.Context, name string) {
	_, _ = hostcmd.Output(exec.CommandContext(context.WithoutCancel(ctx), "docker", "rm", "-f", "-v", name))
}

// Tags lists the local images of repo (repository:tag).
func Tags(ctx context.Context, repo string) []string {
	out, _ := hostcmd.Output(exec.CommandContext(ctx, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo))
	return strings.Fields(out)
}

// Container is a long-running container started to work in (`sleep infinity`).
type Container struct {
	Name   string
	Image  string
	Mounts []string // -v values
}

// Start starts c, replacing a container of the same name left by an interrupted run.
func (c Container) Start(ctx context.Context) error {
	RemoveContainer(ctx, c.Name)
	args := []string{"run", "-d", "--name", c.Name, "--entrypoint=sleep", "--security-opt", "seccomp=unconfined"}
	for _, m := range c.Mounts {
		args = append(args, "-v", m)
	}
	_, err := hostcmd.Output(exec.CommandContext(ctx, "docker", append(args, c.Image, "infinity")...))
	return err
}

// Exec runs a command in c and returns its output.
func (c Container) Exec(ctx context.Context, cmd ...string) (string, error) {
	return hostcmd.Output(exec.CommandContext(ctx, "docker", append([]string{"exec", c.Name}, cmd...)...))
}

// Commit commits c as image with Dockerfile changes (ENTRYPOINT, CMD, LABEL ...).
func (c Container) Commit(ctx context.Context, image string, changes ...string) error {
	args := []string{"commit"}
	for _, ch := range changes {
		args = append(args, "--change", ch)
	}
	_, err := hostcmd.Output(exec.CommandContext(ctx, "docker", append(args, c.Name, image)...))
	return err
}
