package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSatoken stands in for the satoken binary (input satoken-bin): it logs each command
// line, writes a report.md into --out for check, and exits with the next code of
// FAKE_CHECK_EXITS (check; a code ending in ! exits without a report) or FAKE_SCAN_EXIT
// (scan).
const fakeSatoken = `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >> "$FAKE_LOG"
case "$1" in
  version) echo "satoken (fake)" ;;
  scan) echo "scanned ${*:2}"; exit "${FAKE_SCAN_EXIT:-0}" ;;
  check)
    out=""
    while (($#)); do [[ "$1" != --out ]] || out=$2; shift; done
    n=$(cat "$FAKE_COUNT" 2>/dev/null || echo 0)
    echo $((n + 1)) > "$FAKE_COUNT"
    read -r -a codes <<<"$FAKE_CHECK_EXITS"
    code=${codes[$n]}
    [[ "$code" != *! ]] || exit "${code%!}"
    mkdir -p "$out"
    echo "fake report in $out" > "$out/report.md"
    exit "$code" ;;
esac
`

type fakeRun struct {
	res     *Result
	log     string // the runner's and steps' output
	calls   []string
	work    string
	arts    string
	summary string
}

// runRepositoryAction runs the repository's action.yml on a fake satoken whose check
// exits with checkExits in turn and whose scan exits with scanExit.
func runRepositoryAction(t *testing.T, inputs map[string]string, checkExits, scanExit string) fakeRun {
	t.Helper()
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	require.NoError(t, os.MkdirAll(work, 0o755))
	bin := filepath.Join(dir, "satoken")
	require.NoError(t, os.WriteFile(bin, []byte(fakeSatoken), 0o755))
	// A passwordless sudo, as on a hosted runner, for the host step when not run as root.
	sudoDir := filepath.Join(dir, "sudo")
	require.NoError(t, os.Mkdir(sudoDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sudoDir, "sudo"), []byte("#!/bin/sh\n[ \"$1\" != -n ] || shift\nexec \"$@\"\n"), 0o755))
	in := map[string]string{"satoken-bin": bin}
	for k, v := range inputs {
		in[k] = v
	}
	logFile := filepath.Join(dir, "calls")
	arts := filepath.Join(dir, "artifacts")
	res, log := runAction(t, RunInput{
		Action: repoAction, Workdir: work, Inputs: in, Artifacts: arts,
		Env: map[string]string{"PATH": sudoDir + string(os.PathListSeparator) + os.Getenv("PATH"), "FAKE_LOG": logFile, "FAKE_COUNT": filepath.Join(dir, "count"), "FAKE_CHECK_EXITS": checkExits, "FAKE_SCAN_EXIT": scanExit},
	})
	data, err := os.ReadFile(logFile)
	require.NoError(t, err, log)
	return fakeRun{res: res, log: log, calls: strings.Split(strings.TrimSpace(string(data)), "\n"), work: work, arts: arts, summary: res.Summary}
}

// The step fails on broken and harness errors always, on not judged unless told
// otherwise; the check's measurement decides over the scan's prediction, except that an
// image that cannot be scanned is a harness error.
func TestRepositoryActionOutcome(t *testing.T) {
	manifests := map[string]string{"manifests": "deploy"}
	withImages := map[string]string{"manifests": "deploy", "images": "addon:ci"}
	for _, tc := range []struct {
		name       string
		inputs     map[string]string
		checkExits string
		scanExit   string
		wantExit   int
		wantResult string
	}{
		{"passed", manifests, "0", "", 0, "passed"},
		{"broken", manifests, "3", "", 3, "broken"},
		{"not judged fails by default", manifests, "4", "", 4, "not-judged"},
		{"not judged, told not to fail", map[string]string{"manifests": "deploy", "fail-on-not-judged": "false"}, "4", "", 0, "not-judged"},
		{"harness error", manifests, "1", "", 1, "harness-error"},
		{"an exit code that is no outcome", manifests, "2", "", 1, "harness-error"},
		{"two node images: broken wins over passed", map[string]string{"manifests": "deploy", "node-image": "kindest/node:a kindest/node:b"}, "0 3", "", 3, "broken"},
		{"two node images: broken wins over not judged", map[string]string{"manifests": "deploy", "node-image": "kindest/node:a,kindest/node:b"}, "3 4", "", 3, "broken"},
		{"two node images: harness error wins", map[string]string{"manifests": "deploy", "node-image": "kindest/node:a\nkindest/node:b"}, "1 3", "", 1, "harness-error"},
		{"a scan predicting broken does not override a measured pass", withImages, "0", "3", 0, "passed"},
		{"a scan predicting broken does not hide a not judged", withImages, "4", "3", 4, "not-judged"},
		{"an image that cannot be scanned is a harness error", withImages, "0", "1", 1, "harness-error"},
		{"images only: the scan decides", map[string]string{"images": "addon:ci"}, "", "3", 3, "broken"},
		{"images only, not judged", map[string]string{"images": "addon:ci"}, "", "4", 4, "not-judged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runRepositoryAction(t, tc.inputs, tc.checkExits, tc.scanExit)
			assert.Equal(t, tc.wantExit, r.res.ExitCode(), r.log)
			assert.Equal(t, tc.wantResult, r.res.Outputs["outcome"], r.log)
			assert.Contains(t, r.summary, "## satoken check")
			assert.FileExists(t, filepath.Join(r.arts, "satoken-report", firstReport(tc.inputs)))
		})
	}
}

// firstReport is where the first check's report.md lands (in the artifact), or the scan
// output when no check runs.
func firstReport(inputs map[string]string) string {
	switch {
	case inputs["manifests"] == "":
		return "scan.txt"
	case strings.ContainsAny(strings.TrimSpace(inputs["node-image"]), " ,\n"):
		return "kindest-node-a/report.md"
	default:
		return "report.md"
	}
}

// The inputs reach satoken as the flags they name, each item of a list input its own
// argument; commas stay inside a --set value.
func TestRepositoryActionFlags(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		want   []string // satoken command lines after "version" and "host"
	}{
		{
			name:   "manifests on kind's node image",
			inputs: map[string]string{"manifests": "deploy", "images": "addon:ci, sidecar:ci", "check-args": "--ttl 12m\n--settle 2m"},
			want: []string{
				"scan addon:ci sidecar:ci",
				"check --manifests deploy --image addon:ci --image sidecar:ci --node-image=" + defaultNodeImage(t) + " --ttl 12m --settle 2m --out satoken-report",
			},
		},
		{
			name: "a chart with values, set, release and namespace; no scan",
			inputs: map[string]string{
				"chart": "charts/addon", "values": "values.yaml\n ci values.yaml \n", "set": "image.tag=ci\nargs={a,b}",
				"release": "rel", "namespace": "kube-system", "images": "addon:ci", "scan": "false", "out-dir": "out",
			},
			want: []string{
				"check --chart charts/addon --values values.yaml --values ci values.yaml --set image.tag=ci --set args={a,b} --release rel --namespace kube-system --image addon:ci --node-image=" + defaultNodeImage(t) + " --out out",
			},
		},
		{
			name:   "the offline node image, on two Kubernetes versions",
			inputs: map[string]string{"manifests": "deploy", "node-image": "build", "kubernetes-versions": "v1.34.4,v1.33.13"},
			want: []string{
				"check --manifests deploy --k8s=v1.34.4 --out satoken-report/v1.34.4",
				"check --manifests deploy --k8s=v1.33.13 --out satoken-report/v1.33.13",
			},
		},
		{
			name:   "the offline node image, satoken's default version",
			inputs: map[string]string{"manifests": "deploy", "node-image": "build"},
			want:   []string{"check --manifests deploy --out satoken-report"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runRepositoryAction(t, tc.inputs, "0 0", "0")
			require.Equal(t, 0, r.res.ExitCode(), r.log)
			assert.Equal(t, append([]string{"version", "host"}, tc.want...), r.calls)
		})
	}
}

func defaultNodeImage(t *testing.T) string {
	t.Helper()
	a, err := Load(repoAction)
	require.NoError(t, err)
	return a.Inputs["node-image"].Default
}

// Bad input stops the action with a harness error that names the input, before any
// check runs, and the summary says the check did not run.
func TestRepositoryActionRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"manifests and chart", map[string]string{"manifests": "deploy", "chart": "chart"}, "manifests and chart: give one of them"},
		{"nothing to check", map[string]string{}, "manifests or chart: give one"},
		{"values without chart", map[string]string{"manifests": "deploy", "values": "v.yaml"}, "values: only with chart"},
		{"release without chart", map[string]string{"manifests": "deploy", "release": "r"}, "release: only with chart"},
		{"versions without build", map[string]string{"manifests": "deploy", "kubernetes-versions": "v1.34.4"}, "kubernetes-versions: only with node-image build"},
		{"build among images", map[string]string{"manifests": "deploy", "node-image": "build kindest/node:x"}, "node-image: build stands alone"},
		{"no node image", map[string]string{"manifests": "deploy", "node-image": " "}, "node-image: empty"},
		{"an --out in check-args", map[string]string{"manifests": "deploy", "check-args": "--ttl 10m --out=elsewhere"}, "check-args: --out is set by an input"},
		{"a --chart in check-args", map[string]string{"manifests": "deploy", "check-args": "--chart x"}, "check-args: --chart is set by an input"},
		{"fail-on-not-judged not a boolean", map[string]string{"manifests": "deploy", "fail-on-not-judged": "no"}, `fail-on-not-judged: "no" is neither true nor false`},
		{"scan not a boolean", map[string]string{"manifests": "deploy", "images": "a", "scan": "yes"}, `scan: "yes" is neither true nor false`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runRepositoryAction(t, tc.inputs, "0", "0")
			assert.Equal(t, 1, r.res.ExitCode(), r.log)
			assert.Contains(t, r.log, tc.want)
			for _, c := range r.calls {
				assert.False(t, strings.HasPrefix(c, "check"), "no check ran: %s", c)
			}
			assert.Equal(t, "harness-error", r.res.Outputs["outcome"])
			assert.Contains(t, r.summary, "did not run to the end")
		})
	}
}

// The job summary carries each run's report under its outcome, and says when a run left
// none.
func TestRepositoryActionSummary(t *testing.T) {
	r := runRepositoryAction(t, map[string]string{"manifests": "deploy", "node-image": "kindest/node:a kindest/node:b kindest/node:c", "images": "addon:ci"}, "3 0 1!", "4")
	assert.Contains(t, r.summary, "### kindest/node:a: broken (exit 3)\n\nfake report in satoken-report/kindest-node-a\n")
	assert.Contains(t, r.summary, "### kindest/node:b: passed (exit 0)\n\nfake report in satoken-report/kindest-node-b\n")
	assert.Contains(t, r.summary, "### kindest/node:c: harness-error (exit 1)\n\nNo report.md in satoken-report/kindest-node-c: satoken stopped before writing one")
	assert.Contains(t, r.summary, "### satoken scan: not-judged (exit 4)")
	assert.Contains(t, r.summary, "scanned addon:ci")
	assert.FileExists(t, filepath.Join(r.arts, "satoken-report", "kindest-node-b", "report.md"))
	assert.FileExists(t, filepath.Join(r.arts, "satoken-report", "scan.txt"))
}

// With images only, the summary and the verdict say that the outcome is the scan's
// prediction, not a measurement of pods.
func TestRepositoryActionScanOnlySaysSo(t *testing.T) {
	r := runRepositoryAction(t, map[string]string{"images": "addon:ci"}, "", "0")
	require.Equal(t, 0, r.res.ExitCode(), r.log)
	assert.Contains(t, r.summary, "only the scan below, a prediction; no pod was run")
	assert.NotContains(t, r.summary, "did not run to the end")
	assert.Contains(t, r.log, "passed (scan only)")
	assert.NotContains(t, r.log, "every pod judged")
}
