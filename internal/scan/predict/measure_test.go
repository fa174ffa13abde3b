package predict

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
)

// judged are findings of these client-go versions (and a client-node package of node,
// when given) judged on t, as scan judges them.
func judged(t Table, node string, versions ...string) []Judged {
	var out []Judged
	for _, v := range versions {
		out = append(out, finding(v))
	}
	if node != "" {
		out = append(out, Judged{Finding: find.Finding{Target: "app", ClientGo: &find.Module{Path: find.ClientNodePackage, Version: node}, ClientGoBy: find.FromPackageJSON}})
	}
	for i := range out {
		out[i].Judge(t, Fingerprints{})
	}
	return out
}

// TestMeasurementsOnePerK8sVersion: the measurements of every finding's lines the gate
// finds not judged are grouped into one run per Kubernetes version, each version once;
// context lines, judged lines and findings without a measurement (a fork, no client) add
// nothing.
func TestMeasurementsOnePerK8sVersion(t *testing.T) {
	tbl := twoMinors() // v0.20.0 on v1.34.1 and v1.37.1, v0.30.0 on v1.34.1, js-1.4.0 on v1.34.1
	found := judged(tbl, "1.5.0", "v0.40.0", "v0.30.0", "v0.40.0", "v0.50.0", "v0.20.0")
	v030 := found[1].Prediction.Minors[1]
	require.True(t, v030.Context)
	require.NotEmpty(t, v030.Measure, "a context line has its command, which --measure does not run")
	fork := finding("v0.40.0")
	fork.Fork = &find.Fork{Path: "github.com/acme/client-go", Replace: true}
	fork.Judge(tbl, Fingerprints{})
	found = append(found, fork, Judged{Finding: find.Finding{Target: "script"}})

	runs, err := Measurements(found)
	require.NoError(t, err)
	require.Equal(t, []Measurement{
		// v0.40.0 and v0.50.0 are judged on no minor: every line of theirs is measured.
		{K8s: "v1.34.1", Minor: "v1.34", Versions: []string{"v0.40.0", "v0.50.0", "js-1.5.0"}},
		{K8s: "v1.37.1", Minor: "v1.37", Versions: []string{"v0.40.0", "v0.50.0"}},
	}, runs)
	require.Equal(t, "satoken run --k8s v1.34.1 --versions v0.40.0,v0.50.0,js-1.5.0", runs[0].Command())

	// --k8s v1.37.5: only that minor decides, on the version named; v1.34 is context.
	on137, err := tbl.DecideOn("v1.37.5")
	require.NoError(t, err)
	runs, err = Measurements(judged(on137, "1.5.0", "v0.40.0", "v0.30.0", "v0.20.0"))
	require.NoError(t, err)
	require.Equal(t, []Measurement{{K8s: "v1.37.5", Minor: "v1.37", Versions: []string{"v0.40.0", "v0.30.0", "js-1.5.0"}}}, runs)

	// Nothing to measure: every deciding line is judged.
	runs, err = Measurements(judged(tbl, "1.4.0", "v0.20.0", "v0.30.0"))
	require.NoError(t, err)
	require.Empty(t, runs)

	// A minor the table measured nothing on names no Kubernetes version to run.
	on136, err := tbl.DecideOn("v1.36")
	require.NoError(t, err)
	_, err = Measurements(judged(on136, "", "v0.20.0"))
	require.ErrorContains(t, err, "the table measured nothing on Kubernetes v1.36, so no version of it to measure on is known: name one with --k8s v1.36.Z")
}
