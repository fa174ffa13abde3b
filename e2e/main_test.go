//go:build e2e

// Package e2e is the regression suite: real kind clusters, real probes, real token expiry.
// Run it with `make test` (see README and docs/tests.md); select scenarios with
// e2e-framework's --labels/--skip-labels on the label scenario:
//   - smoke: the suite's cluster answers and issues short tokens (TestSmoke)
//   - fast: the reproduction over the whole matrix (TestExpiry)
//   - check: the add-on gates on the stand-ins of fixtures/check (TestExpiry)
//   - existing: `satoken run` on a cluster it did not make (TestExpiry)
//   - faults: faults injected on clusters of their own (TestFaults; in CI)
//   - faults-extra: more of them, the node restarted and the audit log rotated
//     (TestFaults; make e2e-faults, not in CI)
//   - engine: the Docker engine restarted under a run (TestEngineRestart; make e2e-engine,
//     not in CI: it stops every cluster on the machine)
//   - long: the hour-long scenarios (TestLong; make e2e-long, not in CI)
//   - corpus: the real add-ons of fixtures/addons (TestCorpus; make e2e-corpus, not in CI)
//
// The suite's cluster is accelerated (2-minute tokens) unless SATOKEN_E2E_STOCK is set
// (make e2e-stock: 10-minute tokens).
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/satoken-e2e/satoken-e2e/internal/bundle"
	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

var (
	// clusterName is the suite's cluster; SATOKEN_E2E_CLUSTER lets two suites (e.g. the
	// long scenarios next to CI's) run side by side.
	clusterName = envOr("SATOKEN_E2E_CLUSTER", "satoken-e2e")
	testenv     env.Environment
	hctx        *harness.Env
	provider    = &kindLibProvider{}
	// built is every client-go probe of the matrix, after the oldest and the newest
	// JavaScript probe (so its last entry is the newest client-go), built in Setup.
	built []probes.Built
	// artifactsDir is where reports and, on failure, cluster logs go ($ARTIFACTS or _artifacts).
	artifactsDir string
	// canaryImage is satoken check's canary, built in Setup.
	canaryImage string
	// accelerated: the suite's cluster runs the accelerated control plane (2-minute
	// tokens, verdicts in minutes); SATOKEN_E2E_STOCK=1 (make e2e-stock) runs it stock.
	// A registry node image (SATOKEN_NODE_IMAGE) is always stock.
	accelerated = os.Getenv("SATOKEN_E2E_STOCK") == "" && os.Getenv("SATOKEN_NODE_IMAGE") == ""
	// stockImage is the stock node image: clusters that stand for a user's (the
	// existing-cluster feature, the corpus) run it whatever the suite's mode.
	stockImage string
)

// tokenTTL and settleFor are the suite's session timings for its control plane.
func tokenTTL() time.Duration {
	if accelerated {
		return target.AcceleratedTTL
	}
	return target.StockTTL
}

func settleFor(stock time.Duration) time.Duration {
	if accelerated {
		return target.AcceleratedSettle
	}
	return stock
}

func TestMain(m *testing.M) {
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e flags:", err)
		os.Exit(2)
	}
	// TestInParallel only runs features concurrently when the config allows it.
	testenv = env.NewWithConfig(cfg.WithParallelTestEnabled())
	testenv.Setup(prepareHost, buildImages, envfuncs.CreateCluster(provider, clusterName))
	testenv.AfterEachFeature(exportLogsOnFailure)
	testenv.Finish(destroyCluster, removeCLI)
	os.Exit(testenv.Run(m))
}

func prepareHost(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	wd, err := os.Getwd()
	if err != nil {
		return ctx, err
	}
	root, err := bundle.Checkout(wd) // the suite tests the checkout's own files
	if err != nil {
		return ctx, err
	}
	artifactsDir = os.Getenv("ARTIFACTS")
	if artifactsDir == "" {
		artifactsDir = filepath.Join(root, "_artifacts")
	}
	log := phase.New()
	hctx, err = harness.Prepare(ctx, root, log)
	if err != nil {
		return ctx, err
	}
	provider.log = log
	provider.opts, err = harness.ClusterOptions(root, clusterName)
	return ctx, err
}

// buildImages builds (or finds cached) the node image and every probe image.
// SATOKEN_NODE_IMAGE selects a registry node image instead (e.g. kindest/node:v1.34.0).
func buildImages(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	in := harness.NodeImageInput{K8sVersion: envOr("SATOKEN_K8S", nodeimage.DefaultKubernetesVersion), Override: os.Getenv("SATOKEN_NODE_IMAGE")}
	var err error
	if stockImage, err = hctx.NodeImage(ctx, in); err != nil {
		return ctx, err
	}
	provider.opts.NodeImage = stockImage
	if accelerated { // the patched kube-apiserver on the stock image just built
		in.Accelerated = true
		if provider.opts.NodeImage, err = hctx.NodeImage(ctx, in); err != nil {
			return ctx, err
		}
	}
	all, err := probes.Load(hctx.Root)
	if err != nil {
		return ctx, err
	}
	js := probes.OfLanguage(all, probes.LanguageJS)
	if len(js) < 2 {
		return ctx, fmt.Errorf("the JavaScript matrix has %d probes, the suite runs its oldest and newest", len(js))
	}
	selected := append([]probes.Probe{js[0], js[len(js)-1]}, probes.OfLanguage(all, probes.LanguageGo)...)
	if built, err = hctx.BuildProbes(ctx, selected); err != nil {
		return ctx, err
	}
	c, err := probes.BuildCanary(ctx, probes.BuildInput{RepoRoot: hctx.Root, CacheDir: hctx.CacheDir, Log: hctx.Log})
	canaryImage = c.Image
	return ctx, err
}

func exportLogsOnFailure(ctx context.Context, cfg *envconf.Config, t *testing.T, f features.Feature) (context.Context, error) {
	if !t.Failed() || provider.cluster == nil {
		return ctx, nil
	}
	dir := filepath.Join(artifactsDir, "kind-logs", sanitize(f.Name()))
	t.Logf("feature failed: exporting cluster logs to %s", dir)
	return envfuncs.ExportClusterLogs(clusterName, dir)(ctx, cfg)
}

// destroyCluster deletes the cluster unless SATOKEN_KEEP_CLUSTER is set.
func destroyCluster(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	if os.Getenv("SATOKEN_KEEP_CLUSTER") != "" {
		fmt.Fprintf(os.Stderr, "keeping cluster %s (kubeconfig %s)\n", clusterName, provider.GetKubeconfig())
		return ctx, nil
	}
	if provider.cluster == nil {
		return ctx, nil
	}
	return envfuncs.DestroyCluster(clusterName)(ctx, cfg)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func sanitize(s string) string {
	out := []rune(s)
	for i, r := range out {
		keep := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-'
		if !keep {
			out[i] = '-'
		}
	}
	return string(out)
}
