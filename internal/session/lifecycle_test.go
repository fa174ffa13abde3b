package session

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

// fakeCluster records what the lifecycle did to it.
type fakeCluster struct {
	exportedTo string
	down       int
}

func (c *fakeCluster) Target() target.Target {
	return target.Target{Name: "fake", Kubeconfig: "/nonexistent/kubeconfig"}
}
func (c *fakeCluster) ExportLogs(dir string) error {
	c.exportedTo = dir
	return os.MkdirAll(dir, 0o755)
}
func (c *fakeCluster) Down() error { c.down++; return nil }

func newReport() *report.Report {
	return &report.Report{SchemaVersion: report.SchemaVersion, Command: "run", StartedAt: time.Now().UTC(), FinishedAt: time.Now().UTC(),
		Clusters: []report.Cluster{{Name: "fake", K8sVersion: "v1.34.4"}}}
}

// TestLifecycle: whatever the job does — fail, be cancelled, leave a token in its
// artifacts — satoken's own cluster is deleted (its logs exported first when something
// went wrong), and the report says why the session stopped, in every format.
func TestLifecycle(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
	for name, tc := range map[string]struct {
		job        func(ctx context.Context, out string) error
		cancel     error // ctx is cancelled with this cause while the job runs
		keep       bool
		wantErr    string
		wantReport string // report.json's error
		wantLogs   bool
		wantDown   int
	}{
		"job succeeds":  {job: func(context.Context, string) error { return nil }, wantDown: 1},
		"job fails":     {job: func(context.Context, string) error { return errors.New("deploy probes: boom") }, wantErr: "boom", wantReport: "deploy probes: boom", wantLogs: true, wantDown: 1},
		"Ctrl-C":        {job: func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }, cancel: errors.New("interrupted"), wantErr: "context canceled", wantReport: "interrupted", wantLogs: true, wantDown: 1},
		"SIGTERM, kept": {job: func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }, cancel: errors.New("terminated"), keep: true, wantErr: "context canceled", wantReport: "terminated", wantLogs: true},
		"token left in an artifact": {job: func(_ context.Context, out string) error {
			return os.WriteFile(filepath.Join(out, "probe.log"), []byte("Authorization: Bearer "+jwt+"\n"), 0o644)
		}, wantErr: "bearer-token-shaped strings in artifacts", wantDown: 1},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			out, cl := t.TempDir(), &fakeCluster{}
			var stdout bytes.Buffer
			rep, err := Lifecycle(ctx, LifecycleInput{
				Where: Where{Keep: tc.keep, Up: func() (OwnCluster, error) { return cl, nil }},
				Job: func(target.Target) (*report.Report, error) {
					if tc.cancel != nil {
						time.AfterFunc(10*time.Millisecond, func() { cancel(tc.cancel) })
					}
					return newReport(), tc.job(ctx, out)
				},
				Output: Output{Out: out, Log: &phase.Recorder{Out: &bytes.Buffer{}}, Stdout: &stdout},
			})
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
			require.NotNil(t, rep, "the report is returned whatever happened")
			assert.Equal(t, tc.wantDown, cl.down, "cluster deletions")
			if tc.wantLogs {
				assert.Equal(t, filepath.Join(out, "kind-logs"), cl.exportedTo)
			} else {
				assert.Empty(t, cl.exportedTo, "logs exported although nothing went wrong")
			}
			written, lerr := report.Load(filepath.Join(out, "report.json"))
			require.NoError(t, lerr, "report.json written")
			assert.Equal(t, tc.wantReport, written.Error)
			if tc.wantReport != "" {
				assert.Equal(t, report.Failed, written.Outcome)
			}
			for _, f := range []string{"report.md", "junit.xml", "timeline.svg"} {
				assert.FileExists(t, filepath.Join(out, f))
			}
		})
	}
}

// TestLifecycleUpFails: no cluster, no job, no report; TestLifecycleExisting: an existing
// cluster is neither created nor deleted.
func TestLifecycleUpFails(t *testing.T) {
	ran := false
	rep, err := Lifecycle(context.Background(), LifecycleInput{
		Where:  Where{Up: func() (OwnCluster, error) { return nil, errors.New("create cluster: no node image") }},
		Job:    func(target.Target) (*report.Report, error) { ran = true; return newReport(), nil },
		Output: Output{Out: t.TempDir(), Log: &phase.Recorder{Out: &bytes.Buffer{}}},
	})
	require.ErrorContains(t, err, "no node image")
	require.Nil(t, rep)
	require.False(t, ran)
}

func TestLifecycleExisting(t *testing.T) {
	existing := target.Target{Name: "theirs", Existing: true}
	var got target.Target
	out := t.TempDir()
	_, err := Lifecycle(context.Background(), LifecycleInput{
		Where:  Where{Existing: &existing, Up: func() (OwnCluster, error) { t.Fatal("Up called for an existing cluster"); return nil, nil }},
		Job:    func(tg target.Target) (*report.Report, error) { got = tg; return newReport(), nil },
		Output: Output{Out: out, Log: &phase.Recorder{Out: &bytes.Buffer{}}},
	})
	require.NoError(t, err)
	require.Equal(t, "theirs", got.Name)
	require.FileExists(t, filepath.Join(out, "report.json"))
}
