//go:build e2e

// Package e2e is the regression suite: real kind clusters, real probes, real token expiry.
// Run it with `make test` (see README and docs/tests.md).
//
// TestMain's env Setup prepares the host, builds the images, creates the suite's cluster and
// proves it fit for token scenarios (smoke: node Ready, a pod reaches the apiserver through
// the kubernetes Service, TokenRequests capped and not extended, the MutatingAdmissionPolicy
// API, the audit log); a step that fails ends the run before any feature. What it made is
// the suite (suiteOf(ctx)); a feature's Setup leaves its own state in the context for its
// Assess steps (withState, stateOf).
//
// Features are selected with e2e-framework's --labels/--skip-labels on the label scenario
// (docs/tests.md lists the same):
//   - fast: the reproduction over the whole matrix (TestExpiry; make e2e, e2e-stock,
//     e2e-versions)
//   - check: the add-on gates on the stand-ins of fixtures/check (TestExpiry; make e2e,
//     e2e-stock)
//   - existing: `satoken run` on a cluster it did not make (TestExpiry; make e2e, e2e-stock)
//   - faults: faults injected on clusters of their own (TestFaults; make e2e, e2e-stock,
//     e2e-faults)
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
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

// The run's configuration, read from the environment before anything runs (the feature
// names carry it).
var (
	// clusterName is the suite's cluster; SATOKEN_E2E_CLUSTER lets two suites (e.g. the
	// long scenarios next to CI's) run side by side.
	clusterName = envOr("SATOKEN_E2E_CLUSTER", "satoken-e2e")
	// accelerated: the suite's cluster runs the accelerated control plane (2-minute
	// tokens, verdicts in minutes); SATOKEN_E2E_STOCK=1 (make e2e-stock) runs it stock.
	// A registry node image (SATOKEN_NODE_IMAGE) is always stock.
	accelerated = os.Getenv("SATOKEN_E2E_STOCK") == "" && os.Getenv("SATOKEN_NODE_IMAGE") == ""
)

// testenv is the suite's e2e-framework environment, made in TestMain.
var testenv env.Environment

// suite is what the env Setup steps make, stored in the context every step and feature
// receives (suiteOf).
type suite struct {
	hctx     *harness.Env
	provider *kindLibProvider
	// built is every client-go probe of the matrix, after the oldest and the newest
	// JavaScript probe (so its last entry is the newest client-go).
	built []probes.Built
	// artifactsDir is where reports and, on failure, cluster logs go ($ARTIFACTS or _artifacts).
	artifactsDir string
	// canaryImage is satoken check's canary.
	canaryImage string
	// stockImage is the stock node image: clusters that stand for a user's (the
	// existing-cluster feature, the corpus) run it whatever the suite's mode.
	stockImage string
	// cli is the satoken binary under test, built once when a feature first runs it.
	cli *cli
}

type suiteKey struct{}

// suiteOf is the suite the env Setup stored in ctx.
func suiteOf(ctx context.Context) *suite { return ctx.Value(suiteKey{}).(*suite) }

// newest is the newest client-go probe.
func (s *suite) newest() probes.Built { return s.built[len(s.built)-1] }

// stateKey keys a feature's state of type T, which a step (its Setup, mostly) stores with
// withState for the steps after it.
type stateKey[T any] struct{}

func withState[T any](ctx context.Context, v T) context.Context {
	return context.WithValue(ctx, stateKey[T]{}, v)
}

// stateOf is the state a step before stored; a step after one that did not store it fails
// rather than pass on nothing.
func stateOf[T any](ctx context.Context, t *testing.T) T {
	t.Helper()
	v, ok := ctx.Value(stateKey[T]{}).(T)
	if !ok {
		t.Fatalf("no %T in the feature's context: its Setup did not finish", v)
	}
	return v
}

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
	testenv.Setup(prepareHost, buildImages, createCluster, smoke)
	testenv.AfterEachFeature(exportLogsOnFailure)
	testenv.Finish(destroyCluster, removeCLI)
	os.Exit(testenv.Run(m))
}

// prepareHost makes the suite and stores it in ctx first, so that the Finish steps find it
// whichever Setup step failed.
func prepareHost(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s := &suite{provider: &kindLibProvider{}}
	ctx = context.WithValue(ctx, suiteKey{}, s)
	wd, err := os.Getwd()
	if err != nil {
		return ctx, err
	}
	root, err := bundle.Checkout(wd) // the suite tests the checkout's own files
	if err != nil {
		return ctx, err
	}
	s.artifactsDir = os.Getenv("ARTIFACTS")
	if s.artifactsDir == "" {
		s.artifactsDir = filepath.Join(root, "_artifacts")
	}
	s.cli = newCLI(root)
	log := phase.New()
	if s.hctx, err = harness.Prepare(ctx, root, log); err != nil {
		return ctx, err
	}
	s.provider.log = log
	s.provider.opts, err = harness.ClusterOptions(root, clusterName)
	return ctx, err
}

// buildImages builds (or finds cached) the node image and every probe image.
// SATOKEN_NODE_IMAGE selects a registry node image instead (e.g. kindest/node:v1.34.0).
func buildImages(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s := suiteOf(ctx)
	in := harness.NodeImageInput{K8sVersion: envOr("SATOKEN_K8S", nodeimage.DefaultKubernetesVersion), Override: os.Getenv("SATOKEN_NODE_IMAGE")}
	var err error
	if s.stockImage, err = s.hctx.NodeImage(ctx, in); err != nil {
		return ctx, err
	}
	s.provider.opts.NodeImage = s.stockImage
	if accelerated { // the patched kube-apiserver on the stock image just built
		in.Accelerated = true
		if s.provider.opts.NodeImage, err = s.hctx.NodeImage(ctx, in); err != nil {
			return ctx, err
		}
	}
	all, err := probes.Load(s.hctx.Root)
	if err != nil {
		return ctx, err
	}
	js := probes.OfLanguage(all, probes.LanguageJS)
	if len(js) < 2 {
		return ctx, fmt.Errorf("the JavaScript matrix has %d probes, the suite runs its oldest and newest", len(js))
	}
	selected := append([]probes.Probe{js[0], js[len(js)-1]}, probes.OfLanguage(all, probes.LanguageGo)...)
	if s.built, err = s.hctx.BuildProbes(ctx, selected); err != nil {
		return ctx, err
	}
	c, err := probes.BuildCanary(ctx, probes.BuildInput{RepoRoot: s.hctx.Root, CacheDir: s.hctx.CacheDir, Log: s.hctx.Log})
	s.canaryImage = c.Image
	return ctx, err
}

// createCluster is e2e-framework's CreateCluster on the suite's provider.
func createCluster(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	return envfuncs.CreateCluster(suiteOf(ctx).provider, clusterName)(ctx, cfg)
}

func exportLogsOnFailure(ctx context.Context, cfg *envconf.Config, t *testing.T, f features.Feature) (context.Context, error) {
	if !t.Failed() {
		return ctx, nil
	}
	return exportLogs(ctx, cfg, t, f.Name())
}

// exportLogsIfStopped wraps a Setup step on the suite's cluster: a Setup step that stops
// its feature (t.FailNow) also skips the AfterEachFeature hooks, so it exports the logs.
func exportLogsIfStopped(step features.Func) features.Func {
	return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		stopped := true
		defer func() {
			if stopped {
				_, name, _ := strings.Cut(t.Name(), "/") // TestXxx/<the feature's name>
				_, err := exportLogs(ctx, cfg, t, name)
				assert.NoError(t, err, "export the cluster's logs")
			}
		}()
		ctx = step(ctx, t, cfg)
		stopped = false
		return ctx
	}
}

// exportLogs exports the suite cluster's logs into the artifacts, for the feature name.
func exportLogs(ctx context.Context, cfg *envconf.Config, t *testing.T, name string) (context.Context, error) {
	s := suiteOf(ctx)
	if s.provider.cluster == nil {
		return ctx, nil
	}
	dir := filepath.Join(s.artifactsDir, "kind-logs", sanitize(name))
	t.Logf("feature failed: exporting cluster logs to %s", dir)
	return envfuncs.ExportClusterLogs(clusterName, dir)(ctx, cfg)
}

// destroyCluster deletes the cluster unless SATOKEN_KEEP_CLUSTER is set.
func destroyCluster(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	p := suiteOf(ctx).provider
	if os.Getenv("SATOKEN_KEEP_CLUSTER") != "" {
		fmt.Fprintf(os.Stderr, "keeping cluster %s (kubeconfig %s)\n", clusterName, p.GetKubeconfig())
		return ctx, nil
	}
	if p.cluster == nil {
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
