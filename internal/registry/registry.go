// Package registry is satoken's one boundary to container registries: it pushes images
// built in Go (go-containerregistry), so no Docker engine is needed to publish probes.
package registry

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Repo is where images are pushed: HOST[:PORT]/PATH. localhost, loopback and private
// (RFC 1918) addresses are spoken to over plain HTTP, everything else over HTTPS;
// credentials come from the docker config (~/.docker/config.json), as for `docker push`.
type Repo struct{ Path string }

// Parse validates a --registry value.
func Parse(s string) (Repo, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/")
	if !strings.Contains(s, "/") {
		return Repo{}, field.Invalid(field.NewPath("Registry"), s, "want HOST[:PORT]/PATH, e.g. ghcr.io/me/satoken or localhost:5000/satoken")
	}
	if _, err := name.NewRepository(s+"/probe", name.StrictValidation); err != nil {
		return Repo{}, field.Invalid(field.NewPath("Registry"), s, err.Error())
	}
	return Repo{Path: s}, nil
}

// Ship pushes every image as Path/<its local name's last element>:<its tag> and returns
// references pinned by digest, so a pod runs exactly what was pushed.
func (r Repo) Ship(ctx context.Context, images map[string]v1.Image) (map[string]string, error) {
	locals := make([]string, 0, len(images))
	for local := range images {
		locals = append(locals, local)
	}
	sort.Strings(locals)
	refs := map[string]string{}
	for _, local := range locals {
		src, err := name.NewTag(local)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", local, err)
		}
		dst, err := name.NewTag(r.Path + "/" + path.Base(src.RepositoryStr()) + ":" + src.TagStr())
		if err != nil {
			return nil, err
		}
		img := images[local]
		if err := remote.Write(dst, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return nil, fmt.Errorf("push %s: %w", dst, err)
		}
		digest, err := img.Digest()
		if err != nil {
			return nil, err
		}
		refs[local] = dst.String() + "@" + digest.String()
	}
	return refs, nil
}

// PullPolicy: the pinned digest is pulled once per node.
func (Repo) PullPolicy() corev1.PullPolicy { return corev1.PullIfNotPresent }

func (r Repo) String() string { return "registry " + r.Path }
