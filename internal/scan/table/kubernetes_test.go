package table

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/measure"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

var measuredAt = time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC)

// clusterRun is a projected 600 s run of v9.0.0 (so the client table has an entry) on
// the given clusters.
func clusterRun(finished time.Time, clusters ...report.Cluster) *report.Report {
	r := matrixRun(finished, "projected", 600, verdict.Reloads)
	r.Clusters = clusters
	return r
}

func claims(keys ...string) *measure.Claims {
	return &measure.Claims{KubernetesIO: keys, JTI: true, NodeBound: true, LifetimeSeconds: 600}
}

func TestKubernetesSkipsClustersThatEndedEarlyOrMeasuredNothing(t *testing.T) {
	full := &measure.Measured{Claims: claims("pod"), Rotation: &measure.Rotation{Samples: 1, MinSeconds: 480, MaxSeconds: 480, MinFraction: .8, MaxFraction: .8}}
	tbl, err := FromReports(clusterRun(measuredAt,
		report.Cluster{K8sVersion: "v1.34.4", Error: "watch: context deadline exceeded", Measured: full},
		report.Cluster{K8sVersion: "v1.35.0"}, // no Measured: nothing to merge
		report.Cluster{K8sVersion: "v1.36.1", Measured: full},
	))
	require.NoError(t, err)
	require.Len(t, tbl.Kubernetes, 1)
	require.Equal(t, "v1.36", tbl.Kubernetes[0].K8sMinor)

	// A report that ended early is refused whole, its measured clusters included.
	failed := clusterRun(measuredAt.Add(time.Hour), report.Cluster{K8sVersion: "v1.34.4", Measured: full})
	failed.Error = "v1.37.2: cluster up: timed out"
	require.ErrorContains(t, tbl.Add(failed), "ended early")
	require.Len(t, tbl.Kubernetes, 1)
	require.Equal(t, 1, tbl.Kubernetes[0].Runs)

	// A measured cluster whose version names no minor refuses the batch before merging.
	bad := clusterRun(measuredAt, report.Cluster{Name: "odd", K8sVersion: "latest", Measured: full})
	require.ErrorContains(t, tbl.Add(clusterRun(measuredAt, report.Cluster{K8sVersion: "v1.36.2", Measured: full}), bad),
		`cluster "odd": k8sVersion "latest" is not a Kubernetes version`)
	require.Equal(t, 1, tbl.Kubernetes[0].Runs, "nothing of a refused batch is merged")
	require.Equal(t, 1, tbl.Entries[0].Runs)
}

func TestKubernetesEntryPerMinor(t *testing.T) {
	tbl, err := FromReports(clusterRun(measuredAt,
		report.Cluster{K8sVersion: "v1.37.2", Measured: &measure.Measured{Claims: claims("node", "pod", "serviceaccount")}},
		report.Cluster{K8sVersion: "v1.34.4", Measured: &measure.Measured{Claims: claims("pod", "serviceaccount")}},
	))
	require.NoError(t, err)
	require.Len(t, tbl.Kubernetes, 2)
	require.Equal(t, "v1.34", tbl.Kubernetes[0].K8sMinor, "oldest minor first, whatever the run order")
	require.Equal(t, "v1.34.4", tbl.Kubernetes[0].K8sVersion)
	require.Equal(t, []string{"pod", "serviceaccount"}, tbl.Kubernetes[0].Claims.KubernetesIO, "each minor keeps its own claims")
	require.Equal(t, "v1.37", tbl.Kubernetes[1].K8sMinor)
	require.Equal(t, []string{"node", "pod", "serviceaccount"}, tbl.Kubernetes[1].Claims.KubernetesIO)

	// Two patches of one minor in one report: both runs count, the newer is the latest.
	tbl, err = FromReports(clusterRun(measuredAt,
		report.Cluster{K8sVersion: "v1.34.4", Measured: &measure.Measured{Claims: claims("new")}},
		report.Cluster{K8sVersion: "v1.34.2", Measured: &measure.Measured{Claims: claims("old")}},
	))
	require.NoError(t, err)
	require.Len(t, tbl.Kubernetes, 1)
	require.Equal(t, 2, tbl.Kubernetes[0].Runs)
	require.Equal(t, "v1.34.4", tbl.Kubernetes[0].K8sVersion)
	require.Equal(t, []string{"new"}, tbl.Kubernetes[0].Claims.KubernetesIO)
}

func TestKubernetesAggregatesRuns(t *testing.T) {
	secs := func(s float64) *float64 { return &s }
	older := clusterRun(measuredAt, report.Cluster{K8sVersion: "v1.34.3", Measured: &measure.Measured{
		Claims:   claims("old"),
		Rotation: &measure.Rotation{Samples: 2, MinSeconds: 470, MaxSeconds: 480, MinFraction: .78, MaxFraction: .80},
		Expiry:   &measure.Expiry{Clients: 3, LastAcceptedSeconds: secs(50), FirstRefusedSeconds: secs(62)},
	}})
	newer := clusterRun(measuredAt.Add(time.Hour), report.Cluster{K8sVersion: "v1.34.4", Measured: &measure.Measured{
		Claims:   claims("new"),
		Rotation: &measure.Rotation{Samples: 1, MinSeconds: 475, MaxSeconds: 490, MinFraction: .79, MaxFraction: .82},
		Expiry:   &measure.Expiry{Clients: 2, LastAcceptedSeconds: secs(58), FirstRefusedSeconds: secs(64)},
	}})
	// Only refusals, no rotation: a missing time must not count as 0.
	newest := clusterRun(measuredAt.Add(2*time.Hour), report.Cluster{K8sVersion: "v1.34.4", Measured: &measure.Measured{
		Claims: claims("newest"),
		Expiry: &measure.Expiry{Clients: 1, FirstRefusedSeconds: secs(61)},
	}})
	want := KubernetesEntry{
		K8sMinor: "v1.34", K8sVersion: "v1.34.4", MeasuredAt: measuredAt.Add(2 * time.Hour), Runs: 3,
		Claims:     claims("newest"),
		Rotation:   &measure.Rotation{Samples: 3, MinSeconds: 470, MaxSeconds: 490, MinFraction: .78, MaxFraction: .82},
		Expiry:     &measure.Expiry{Clients: 6, LastAcceptedSeconds: secs(58), FirstRefusedSeconds: secs(61)},
		Unmeasured: Unmeasured{Rotation: 1},
	}
	for _, order := range [][]*report.Report{{older, newer, newest}, {newest, older, newer}, {newer, newest, older}} {
		tbl, err := FromReports(order...)
		require.NoError(t, err)
		require.Equal(t, []KubernetesEntry{want}, tbl.Kubernetes, "merge order does not matter")
	}
	require.Equal(t, 470.0, older.Clusters[0].Measured.Rotation.MinSeconds)
	require.Equal(t, 2, older.Clusters[0].Measured.Rotation.Samples, "the reports are not changed")
	require.Equal(t, 3, older.Clusters[0].Measured.Expiry.Clients)

	// Merged one at a time into a loaded table, as make verdict-table does.
	dir := t.TempDir()
	tbl, err := FromReports(older)
	require.NoError(t, err)
	for _, r := range []*report.Report{newer, newest} {
		path := filepath.Join(dir, "table.json")
		require.NoError(t, tbl.Write(path))
		tbl, err = Load(path)
		require.NoError(t, err)
		require.NoError(t, tbl.Add(r))
	}
	require.Equal(t, []KubernetesEntry{want}, tbl.Kubernetes)
}

func TestKubernetesMarkdownSaysNotMeasured(t *testing.T) {
	refused := 62.0
	tbl, err := FromReports(clusterRun(measuredAt,
		report.Cluster{K8sVersion: "v1.34.4", Measured: &measure.Measured{Expiry: &measure.Expiry{Clients: 2, FirstRefusedSeconds: &refused}}},
		report.Cluster{K8sVersion: "v1.37.2", Measured: &measure.Measured{Notes: []string{"no probe read a rotated token"}}},
	))
	require.NoError(t, err)
	md := tbl.Markdown()
	require.Contains(t, md, "**What each Kubernetes minor did with the tokens (measured)**")
	require.Contains(t, md, "| v1.34 (latest v1.34.4) | 1 | not measured in the latest run | not measured | none accepted / exp + 62 s (2 clients) |")
	require.Contains(t, md, "| v1.37 (latest v1.37.2) | 1 | not measured in the latest run | not measured | not measured |")
	kube, _, _ := strings.Cut(md[strings.Index(md, "| Kubernetes |"):], "\n\n") // its rows
	require.NotContains(t, kube, "0 s", "an absent part is never rendered as zeros")
	require.NotContains(t, kube, "0 %")
	require.NotContains(t, kube, "(0 ")

	tbl, err = FromReports(clusterRun(measuredAt,
		report.Cluster{K8sVersion: "v1.34.4", Measured: &measure.Measured{
			Claims:   claims("node", "pod"),
			Rotation: &measure.Rotation{Samples: 4, MinSeconds: 478.6, MaxSeconds: 479.4, MinFraction: .797, MaxFraction: .83},
		}},
		report.Cluster{K8sVersion: "v1.34.4", Measured: &measure.Measured{Claims: claims("node", "pod")}},
	))
	require.NoError(t, err)
	require.Contains(t, tbl.Markdown(), "| v1.34 (latest v1.34.4) | 2 | node, pod; jti yes; node-bound yes | iat + 479 s, 80–83 % (4 rotations); in 1 of 2 runs | not measured |")

	// The claims shown are the latest run's: older ones may no longer be what it issues.
	tbl, err = FromReports(
		clusterRun(measuredAt, report.Cluster{K8sVersion: "v1.34.3", Measured: &measure.Measured{Claims: claims("pod")}}),
		clusterRun(measuredAt.Add(time.Hour), report.Cluster{K8sVersion: "v1.34.4", Measured: &measure.Measured{}}))
	require.NoError(t, err)
	require.Contains(t, tbl.Markdown(), "| v1.34 (latest v1.34.4) | 2 | not measured in the latest run | not measured | not measured |")

	none, err := FromReports(matrixRun(measuredAt, "projected", 600, verdict.Reloads))
	require.NoError(t, err)
	require.NotContains(t, none.Markdown(), "Kubernetes minor did", "no table without entries")
}

// TestKubernetesFieldIsOptional: tables written before Kubernetes entries were kept load
// as schema 3 and are written back without the field.
func TestKubernetesFieldIsOptional(t *testing.T) {
	path := filepath.Join(t.TempDir(), "table.json")
	tbl, err := FromReports(matrixRun(measuredAt, "projected", 600, verdict.Reloads))
	require.NoError(t, err)
	require.NoError(t, tbl.Write(path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(data), `"kubernetes"`)
	loaded, err := Load(path)
	require.NoError(t, err)
	require.Empty(t, loaded.Kubernetes)
}
