package nodeimage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
)

// AcceleratedMinTTL is the shortest token lifetime an accelerated node's apiserver accepts
// (stock: 10 minutes). Nothing else about token validation changes: the 60 s validator
// leeway, the auth cache and the kubelet's refresh at 80 % of the TTL are stock.
const AcceleratedMinTTL = 60 * time.Second

// AcceleratedLabel marks an accelerated node image; its value is AcceleratedMinTTL in
// seconds, so a cluster made from any image (a tag given with --node-image too) knows.
const AcceleratedLabel = "satoken.accelerated.min-token-seconds"

// AcceleratedImageName is the tag of the accelerated node image of a Kubernetes version.
func AcceleratedImageName(k8sVersion string) string { return ImageName(k8sVersion) + "-fast" }

// sourcePatch replaces Old by New, which must occur exactly once in File (a path in the
// k8s.io/kubernetes tree): a release that moved the code fails the build instead of
// silently keeping the stock minimum.
type sourcePatch struct {
	File, Old, New string
	What           string // what the replaced code enforces
}

// acceleratedPatches lower the hard-coded 10-minute minimum where a pod's token is asked
// for: the TokenRequest API (the kubelet's refresh and satoken's own claims measurement)
// and a projected volume's expirationSeconds. Not patched: the CSIDriver tokenRequests
// minimum (pkg/apis/storage/validation), which no satoken workload uses; the external
// signer check (pkg/controlplane/apiserver/options) reads MinTokenAgeSec and follows it.
var acceleratedPatches = []sourcePatch{
	{
		File: "pkg/apis/authentication/validation/validation.go",
		Old:  "const MinTokenAgeSec = 10 * 60", New: fmt.Sprintf("const MinTokenAgeSec = %d", int(AcceleratedMinTTL.Seconds())),
		What: "TokenRequest spec.expirationSeconds minimum",
	},
	{
		File: "pkg/apis/core/validation/validation.go",
		Old:  "< 10*60 {", New: fmt.Sprintf("< %d {", int(AcceleratedMinTTL.Seconds())),
		What: "projected serviceAccountToken expirationSeconds minimum",
	},
}

// patchOverlay writes the patched files under dir and a go build -overlay file mapping
// each original (in tree, the Kubernetes module or source tree) to its copy. key hashes
// the patched contents: the accelerated image's and binaries' cache key.
func patchOverlay(tree, version, dir string) (overlay, key string, err error) {
	replace := map[string]string{}
	var sums strings.Builder
	for i, p := range acceleratedPatches {
		orig := filepath.Join(tree, p.File)
		data, err := os.ReadFile(orig)
		if err != nil {
			return "", "", fmt.Errorf("accelerated apiserver patch (%s): %w", p.What, err)
		}
		if n := strings.Count(string(data), p.Old); n != 1 {
			return "", "", fmt.Errorf("accelerated apiserver patch no longer applies to Kubernetes %s: %s (%s) has %d occurrences of %q, want exactly 1; find where this version enforces it and update acceleratedPatches",
				version, p.File, p.What, n, p.Old)
		}
		patched := strings.Replace(string(data), p.Old, p.New, 1)
		copyPath := filepath.Join(dir, fmt.Sprintf("%d-%s", i, filepath.Base(p.File)))
		if err := os.WriteFile(copyPath, []byte(patched), 0o644); err != nil {
			return "", "", err
		}
		replace[orig] = copyPath
		fmt.Fprintf(&sums, "%s %s\n", p.File, shortHash(patched))
	}
	data, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", "", err
	}
	overlay = filepath.Join(dir, "overlay.json")
	return overlay, shortHash(sums.String()), os.WriteFile(overlay, data, 0o644)
}

// BuildAccelerated makes AcceleratedImageName: the stock node image (built first, or
// reused) with its kube-apiserver image replaced by one compiled with acceleratedPatches.
// Only the apiserver is recompiled (the Go build cache holds the rest); everything else is
// the stock image's. Skipped when an image of the same inputs exists.
func BuildAccelerated(ctx context.Context, in Input) (string, error) {
	st, err := build(ctx, in)
	if err != nil {
		return "", err
	}
	version := in.KubernetesVersion
	if in.Source != nil {
		version = in.Source.Version
	} else if in.Source, err = moduleTree(ctx, filepath.Dir(st.binDir), version); err != nil {
		return "", err
	}
	tree := in.Source.Dir
	in.KubernetesVersion = version
	b := &builder{in: in, log: in.Log, now: time.Now()}
	if b.workDir, err = os.MkdirTemp(in.CacheDir, "nodeimage-fast-"); err != nil {
		return "", err
	}
	defer os.RemoveAll(b.workDir)
	overlay, key, err := patchOverlay(tree, version, b.workDir)
	if err != nil {
		return "", err
	}
	image, hash := AcceleratedImageName(version), shortHash(st.hash+"/accelerated/"+key)
	if docker.UpToDate(ctx, image, hash) {
		b.log.Printf("node image %s is up to date (inputs %s)", image, hash)
		return image, nil
	}
	b.log.Printf("building node image %s from %s: kube-apiserver with token lifetimes down to %s", image, st.image, AcceleratedMinTTL)
	binDir := filepath.Join(filepath.Dir(st.binDir), "accelerated-"+key)
	var ref imageRef
	steps := []struct {
		name string
		fn   func() error
	}{
		{"patched kube-apiserver " + version, func() error { return b.acceleratedAPIServer(ctx, overlay, binDir) }},
		{"kube-apiserver image", func() error {
			images, err := listKubeadmImages(ctx, st.binDir, version)
			if err != nil {
				return err
			}
			for _, c := range images.Components {
				if c.name() == "kube-apiserver" {
					ref = c
				}
			}
			if ref == "" {
				return fmt.Errorf("kubeadm names no kube-apiserver image for %s", version)
			}
			return b.componentImage(ctx, binDir, ref)
		}},
		{"assemble node image", func() error {
			return b.preloadCommit(ctx, preloadCommitInput{From: st.image, Refs: []string{string(ref)}, Image: image,
				Labels: map[string]string{inputsLabel: hash, AcceleratedLabel: fmt.Sprint(int(AcceleratedMinTTL.Seconds()))}})
		}},
	}
	for _, s := range steps {
		if err := b.log.Run(s.name, s.fn); err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
	}
	docker.PruneDangling(ctx)
	return image, nil
}

// moduleTree is the k8s.io/kubernetes module at version as a source tree outside the
// module cache (hard links under dir), because go build refuses to overlay files in the
// module cache.
func moduleTree(ctx context.Context, dir, version string) (*Source, error) {
	mod, err := moduleDir(ctx, "k8s.io/kubernetes", version)
	if err != nil {
		return nil, err
	}
	tree, stamp := filepath.Join(dir, "module"), filepath.Join(dir, "module.complete")
	if _, err := os.Stat(stamp); err != nil {
		if err := os.RemoveAll(tree); err != nil {
			return nil, err
		}
		if err := fileutil.LinkTree(mod, tree); err != nil {
			return nil, fmt.Errorf("link %s: %w", mod, err)
		}
		if err := os.WriteFile(stamp, nil, 0o644); err != nil {
			return nil, err
		}
	}
	return &Source{Dir: tree, Version: version, Release: version, VersionFrom: "module " + mod}, nil
}

// acceleratedAPIServer compiles kube-apiserver with the patches into outDir unless an
// earlier build of the same patched source left it there.
func (b *builder) acceleratedAPIServer(ctx context.Context, overlay, outDir string) error {
	stamp := filepath.Join(outDir, ".complete")
	if _, err := os.Stat(stamp); err == nil {
		b.log.Printf("using the cached patched kube-apiserver in %s", outDir)
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	err := b.buildKubernetes(ctx, kubernetesBuild{WorkDir: filepath.Join(b.workDir, "kubernetes"), OutDir: outDir,
		Commands: []string{"kube-apiserver"}, Overlay: overlay, Expected: 6 * time.Minute})
	if err != nil {
		return err
	}
	return os.WriteFile(stamp, nil, 0o644)
}

// AcceleratedMinTTLOf is the minimum token lifetime an image's apiserver accepts: ok is
// false for a stock image (or one not in the local docker).
func AcceleratedMinTTLOf(ctx context.Context, image string) (time.Duration, bool) {
	v, ok := docker.ImageLabel(ctx, image, AcceleratedLabel)
	if !ok {
		return 0, false
	}
	var secs int
	if _, err := fmt.Sscan(v, &secs); err != nil || secs <= 0 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}
