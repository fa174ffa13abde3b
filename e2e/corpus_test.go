//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/satoken-e2e/satoken-e2e/internal/addons"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// TestCorpus puts the real add-ons of fixtures/addons through `satoken check` as their
// maintainers ship them (label scenario=corpus, `make e2e-corpus`; each on a cluster of its
// own, two side by side): built from their published module source, deployed with their own
// manifests or chart, judged against what the client-go source they link says they do.
// SATOKEN_CORPUS selects add-ons by name (default all).
func TestCorpus(t *testing.T) {
	if !selects(testenv.EnvConf(), "scenario", "corpus") {
		t.Skip("scenario=corpus not selected (make e2e-corpus runs it)")
	}
	// The add-ons are built in a feature of their own, which hands them on in the context
	// testenv.Test returns: the batches below are made of them.
	ctx := testenv.Test(t, corpusImagesFeature())
	if testenv.EnvConf().DryRunMode() {
		return // nothing was built to list the batches of
	}
	built := stateOf[[]addons.Built](ctx, t)
	// A kind cluster and its add-on take about a core while they start: four at once on a
	// two-core host starved kube-proxy past cluster creation's bound. SATOKEN_CORPUS_PARALLEL
	// add-ons run side by side (default 2), the next batch after them.
	parallel, err := strconv.Atoi(envOr("SATOKEN_CORPUS_PARALLEL", "2"))
	require.NoError(t, err, "SATOKEN_CORPUS_PARALLEL")
	require.Positive(t, parallel, "SATOKEN_CORPUS_PARALLEL")
	for start := 0; start < len(built); start += parallel {
		var fs []features.Feature
		for i := start; i < min(start+parallel, len(built)); i++ {
			fs = append(fs, corpusFeature(built[i], fmt.Sprintf("%s-corpus-%d", clusterName, i)))
		}
		testenv.TestInParallel(t, fs...)
	}
}

// corpusImagesFeature builds the selected add-ons' images (SATOKEN_CORPUS, default all)
// from their published module source.
func corpusImagesFeature() features.Feature {
	return features.New("real add-ons: images built from their module source").
		WithLabel("scenario", "corpus").
		Assess("every selected add-on is built", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			h := suiteOf(ctx).hctx
			all, err := addons.Load(h.Root)
			require.NoError(t, err)
			selected, err := addons.Select(all, envOr("SATOKEN_CORPUS", "all"))
			require.NoError(t, err)
			var built []addons.Built
			require.NoError(t, h.Log.Run(fmt.Sprintf("add-on images (%d)", len(selected)), func() (err error) {
				built, err = addons.Build(context.Background(), addons.BuildInput{RepoRoot: h.Root, CacheDir: h.CacheDir, Addons: selected, Log: h.Log})
				return err
			}))
			return withState(ctx, built)
		}).
		Feature()
}

// corpusFeature checks one add-on with the CLI, on a cluster of its own (several add-ons
// install the same objects into kube-system).
func corpusFeature(b addons.Built, cluster string) features.Feature {
	a := b.Addon
	return features.New("real add-on: "+a.Title).
		WithLabel("scenario", "corpus").
		Assess(fmt.Sprintf("check ends in %v: %s", a.Expect.Outcomes, a.Expect.Why), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			flags, err := a.Render(ctx, t.TempDir())
			require.NoError(t, err)
			s := suiteOf(ctx)
			out := filepath.Join(s.artifactsDir, "corpus", a.Name)
			args := append([]string{"check", "--node-image", s.stockImage, "--cluster", cluster, "--out", out}, flags...)
			t.Logf("satoken %v", args)
			log, code := satoken(ctx, t, args...)
			require.NoError(t, os.MkdirAll(out, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(out, "satoken.log"), []byte(log), 0o644))

			data, err := os.ReadFile(filepath.Join(out, "report.json"))
			require.NoError(t, err, "no report (exit %d); output in %s", code, filepath.Join(out, "satoken.log"))
			var rep report.Report
			require.NoError(t, json.Unmarshal(data, &rep))
			t.Logf("%s: exit %d, outcome %s\n%s", a.Name, code, rep.Outcome, rep.Markdown())
			assert.Equal(t, exitOf(rep.Outcome), code, "the exit code follows the report's outcome")
			assert.Contains(t, a.Expect.Outcomes, rep.Outcome, "%s links client-go %s: %s (%v)", a.Name, a.ClientGo, a.Expect.Why, a.Expect.Source)
			assert.NotEmpty(t, rep.Results, "the add-on's pods were judged")
			for _, res := range rep.Results {
				assert.Contains(t, res.Image, a.Image, "%s/%s ran the add-on's own image", res.Namespace, res.Pod)
				if rep.Outcome == report.Passed {
					// A pass rests on the reload shown: two switches to a newer token.
					ok := 0
					for _, c := range res.Observation.Credentials {
						if c.LastOKAt != nil {
							ok++
						}
					}
					assert.GreaterOrEqual(t, ok, 3, "%s/%s passed on %d credentials: %s", res.Namespace, res.Pod, ok, res.Reason)
					assert.Equal(t, verdict.Reloads, res.Verdict)
				}
			}
			return ctx
		}).
		Feature()
}

// selects reports whether the run's label filters let features labelled key=value run:
// named by --labels when it names the key, and not skipped by --skip-labels.
func selects(cfg *envconf.Config, key, value string) bool {
	if want, ok := cfg.Labels()[key]; ok && !slices.Contains(want, value) {
		return false
	}
	return !slices.Contains(cfg.SkipLabels()[key], value)
}

// exitOf is the exit code a judging command gives an outcome.
func exitOf(o report.Outcome) int {
	return map[report.Outcome]int{report.Passed: 0, report.Broken: 3, report.NotJudged: 4, report.Failed: 1}[o]
}
