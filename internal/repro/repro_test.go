package repro

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func fixtures() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "fixtures")
}

func TestValidate(t *testing.T) {
	ok := Input{TTL: 10 * time.Minute, Interval: 5 * time.Second, Settle: 5 * time.Minute}
	require.NoError(t, ok.Validate())
	short := ok
	short.TTL = 599 * time.Second
	require.ErrorContains(t, short.Validate(), "at least 10m")
	auto := short
	auto.Automount = true
	require.NoError(t, auto.Validate(), "--ttl does not apply to the automounted token")
	fast := ok
	fast.TTL = 2 * time.Minute
	require.ErrorContains(t, fast.Validate(), "at least 10m", "a stock target refuses a 2-minute token")
	fast.Target.AcceleratedMinTTL = time.Minute
	require.NoError(t, fast.Validate(), "an accelerated target accepts it without MinTTL repeated")
	fast.TTL = 59 * time.Second
	require.ErrorContains(t, fast.Validate(), "at least 1m0s")
	bad := ok
	bad.Interval = 0
	require.Error(t, bad.Validate())
	bad = ok
	bad.Settle = 30 * time.Second
	require.Error(t, bad.Validate())
}

func TestNamespaceFor(t *testing.T) {
	require.Equal(t, "satoken-v0-15-7", NamespaceFor("v0.15.7"))
	require.Equal(t, "satoken-v12-0-0", NamespaceFor("v12.0.0"))
}

func render(t *testing.T, set PodSettings) *unstructured.Unstructured {
	d, err := NewDeployer(context.Background(), nil, fixtures(), set)
	require.NoError(t, err)
	b := probes.Built{Probe: probes.Probe{Label: "v8.0.0"}, Image: "satoken/probe:v8.0.0"}
	data, err := d.Render(b, "satoken-v8-0-0", "probe")
	require.NoError(t, err)
	objs, err := kube.Decode(data)
	require.NoError(t, err)
	kinds := []string{}
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
		if o.GetKind() != "Namespace" {
			require.Equal(t, "satoken-v8-0-0", o.GetNamespace(), o.GetKind())
		}
	}
	require.Equal(t, []string{"Namespace", "ServiceAccount", "Role", "RoleBinding", "Pod"}, kinds)
	return objs[len(objs)-1]
}

func TestRenderProjected(t *testing.T) {
	pod := render(t, PodSettings{TTL: 10 * time.Minute, Interval: 5 * time.Second})
	auto, _, _ := unstructured.NestedBool(pod.Object, "spec", "automountServiceAccountToken")
	require.False(t, auto, "the projection replaces the automounted token")
	vols, _, _ := unstructured.NestedSlice(pod.Object, "spec", "volumes")
	sources, _, _ := unstructured.NestedSlice(vols[0].(map[string]any), "projected", "sources")
	ttl, _, _ := unstructured.NestedInt64(sources[0].(map[string]any), "serviceAccountToken", "expirationSeconds")
	require.Equal(t, int64(600), ttl)
	containers, _, _ := unstructured.NestedSlice(pod.Object, "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	require.Equal(t, []string{"--interval=5s", "--label=v8.0.0"}, args)
}

func TestRenderImageFromRegistry(t *testing.T) {
	containerOf := func(pod *unstructured.Unstructured) map[string]any {
		containers, _, _ := unstructured.NestedSlice(pod.Object, "spec", "containers")
		return containers[0].(map[string]any)
	}
	loaded := containerOf(render(t, PodSettings{TTL: 10 * time.Minute, Interval: 5 * time.Second}))
	require.Equal(t, "satoken/probe:v8.0.0", loaded["image"])
	require.Equal(t, "Never", loaded["imagePullPolicy"], "an image loaded into the nodes is never pulled")

	ref := "registry.example:5000/satoken/probe:v8.0.0@sha256:" + strings.Repeat("a", 64)
	pushed := render(t, PodSettings{TTL: 10 * time.Minute, Interval: 5 * time.Second,
		Refs: map[string]string{"satoken/probe:v8.0.0": ref}, PullPolicy: corev1.PullIfNotPresent})
	require.Equal(t, ref, containerOf(pushed)["image"])
	require.Equal(t, "IfNotPresent", containerOf(pushed)["imagePullPolicy"])
	_, found, _ := unstructured.NestedSlice(pushed.Object, "spec", "imagePullSecrets")
	require.False(t, found)
}

func TestLifetimeLongerThanAskedStopsTheRun(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	token := func(life time.Duration) *probeRun {
		return &probeRun{built: probes.Built{Probe: probes.Probe{Label: "v8.0.0"}},
			obs: verdict.Observe(verdict.FromProbeLog([]probelog.Line{{Time: t0, Kind: probelog.KindToken, TokenHash: "a", Iat: t0.Unix(), Exp: t0.Add(life).Unix()}}))}
	}
	r := &runner{runs: []*probeRun{token(10 * time.Minute)}}
	require.NoError(t, r.checkLifetimes(10*time.Minute))
	r.runs = append(r.runs, token(8*time.Minute))
	require.NoError(t, r.checkLifetimes(10*time.Minute), "a cap below the TTL is fine: verdicts use each token's own exp")
	r.runs = append(r.runs, token(365*24*time.Hour))
	require.ErrorContains(t, r.checkLifetimes(10*time.Minute), "extends or ignores expirationSeconds")
}

func TestRenderAutomount(t *testing.T) {
	pod := render(t, PodSettings{Automount: true, Interval: 5 * time.Second})
	auto, _, _ := unstructured.NestedBool(pod.Object, "spec", "automountServiceAccountToken")
	require.True(t, auto)
	_, found, _ := unstructured.NestedSlice(pod.Object, "spec", "volumes")
	require.False(t, found, "no custom projection: the kubelet's default (3607 s) applies")
}

func TestDoneAt(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	r := &runner{in: Input{Interval: 5 * time.Second, Settle: 5 * time.Minute}, params: verdict.Steady(5 * time.Second)}
	pr := &probeRun{}
	_, known := r.doneAt(pr)
	require.False(t, known, "no token seen yet")

	pr.obs = verdict.Observe(verdict.FromProbeLog([]probelog.Line{{Time: t0, Kind: probelog.KindToken, TokenHash: "a", Iat: t0.Unix(), Exp: t0.Add(10 * time.Minute).Unix()}}))
	done, _ := r.doneAt(pr)
	require.Equal(t, t0.Add(10*time.Minute+60*time.Second+10*time.Second+10*time.Second), done, "exp + leeway + auth cache + 2 intervals")

	first401 := t0.Add(11 * time.Minute)
	pr.obs.FirstUnauthorizedAt = &first401
	done, _ = r.doneAt(pr)
	require.Equal(t, first401.Add(5*time.Minute), done, "a failing probe is watched --settle past its first 401")
}

// TestLookUntilTheLatestProbe: the watch lasts until the latest probe is done, a probe
// with no token yet until the hard deadline; past that deadline it ends, counting the
// probes not done.
func TestLookUntilTheLatestProbe(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Second)
	token := func(label string) *probeRun { // gone: look reads nothing of it
		return &probeRun{built: probes.Built{Probe: probes.Probe{Label: label}}, goneAt: t0,
			obs: verdict.Observe(verdict.FromProbeLog([]probelog.Line{{Time: t0, Kind: probelog.KindToken, TokenHash: label, Iat: t0.Unix(), Exp: t0.Add(10 * time.Minute).Unix()}}))}
	}
	r := &runner{in: Input{Interval: 5 * time.Second, Settle: 5 * time.Minute}, params: verdict.Steady(5 * time.Second),
		runs: []*probeRun{token("v8.0.0"), {built: probes.Built{Probe: probes.Probe{Label: "v9.0.0"}}, goneAt: t0}}}
	hard := t0.Add(time.Hour)
	l, err := r.look(context.Background(), 10*time.Minute, hard)
	require.NoError(t, err)
	require.Equal(t, hard, l.Until, "the probe with no token is waited for until the hard deadline")
	require.Empty(t, l.End)
	require.Contains(t, l.Progress, "v8.0.0")

	r.runs = r.runs[:1]
	l, err = r.look(context.Background(), 10*time.Minute, t0.Add(-time.Second))
	require.NoError(t, err)
	done, _ := r.doneAt(r.runs[0])
	require.Equal(t, done, l.Until)
	require.Equal(t, "giving up waiting at the hard deadline; 1 probe(s) incomplete", l.End)
}

// TestPullSecretsAreCopiedBeforeThePod: a named pull secret is copied into the probe's
// namespace and named by its pod; the original stays where it was.
func TestPullSecretsAreCopiedBeforeThePod(t *testing.T) {
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}
	kc := &kube.Client{Typed: fake.NewSimpleClientset(secret)}
	d, err := NewDeployer(ctx, kc, fixtures(), PodSettings{TTL: target.StockMinTTL, Interval: 5 * time.Second, PullSecrets: []string{"ci/regcred"}})
	require.NoError(t, err)
	b := probes.Built{Probe: probes.Probe{Label: "v8.0.0"}, Image: "satoken/probe:v8.0.0"}
	data, err := d.Render(b, "satoken-v8-0-0", "probe")
	require.NoError(t, err)
	objs, err := kube.Decode(data)
	require.NoError(t, err)
	pullSecrets, _, _ := unstructured.NestedSlice(objs[len(objs)-1].Object, "spec", "imagePullSecrets")
	require.Equal(t, []any{map[string]any{"name": "regcred"}}, pullSecrets)

	_, err = NewDeployer(ctx, kc, fixtures(), PodSettings{PullSecrets: []string{"ci/missing"}})
	require.ErrorContains(t, err, "pull secret ci/missing")
}

// TestDeletedProbePod: a probe pod deleted by someone else mid-run neither stops the other
// probes' reads nor is restarted as a failing probe; its verdict comes from what was read
// before and says the pod went away (NOT_JUDGED when that does not decide).
func TestDeletedProbePod(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	here := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "satoken-v0-37-2", Name: "probe"}}
	kc := &kube.Client{Typed: fake.NewSimpleClientset(here)}
	failing := []probelog.Line{{Time: t0, Kind: probelog.KindStart}, {Time: t0, Kind: probelog.KindToken, TokenHash: "a", Iat: t0.Unix(), Exp: t0.Add(10 * time.Minute).Unix()}}
	for at := 5 * time.Second; at <= 13*time.Minute; at += 5 * time.Second {
		outcome := probelog.OutcomeOK
		if at >= 11*time.Minute {
			outcome = probelog.OutcomeUnauthorized
		}
		failing = append(failing, probelog.Line{Time: t0.Add(at), Kind: probelog.KindCall, Outcome: outcome, AuthHash: "a"})
	}
	gone := &probeRun{built: probes.Built{Probe: probes.Probe{Label: "v8.0.0"}}, namespace: "satoken-v8-0-0", pod: "probe", complete: true,
		lines: failing, obs: verdict.Observe(verdict.FromProbeLog(failing))}
	other := &probeRun{built: probes.Built{Probe: probes.Probe{Label: "v0.37.2"}}, namespace: "satoken-v0-37-2", pod: "probe"}
	r := &runner{in: Input{Interval: 5 * time.Second, Log: &phase.Recorder{}}, kc: kc, params: verdict.Steady(5 * time.Second), runs: []*probeRun{gone, other}}

	require.NoError(t, r.refresh(ctx))
	require.False(t, gone.goneAt.IsZero(), "the deleted pod is noticed")
	require.Equal(t, "fake logs", string(other.raw), "the next probe is still read")
	require.NoError(t, r.restartFailing(ctx), "a deleted pod is not restarted")
	require.Nil(t, gone.restart)

	res := r.judge(gone)
	require.Equal(t, verdict.FailsAfterExpiry, res.Verdict, "two minutes of 401s were read before the pod went: %s", res.Reason)
	require.Contains(t, res.Reason, "its pod was deleted afterwards, not by satoken")

	gone.obs = verdict.Observe(verdict.FromProbeLog(failing[:50])) // deleted before its token expired
	res = r.judge(gone)
	require.Equal(t, verdict.NotJudged, res.Verdict)
	require.Contains(t, res.Reason, "its pod was deleted, not by satoken")
	require.Contains(t, res.Hint, "what deleted the pod")
}
