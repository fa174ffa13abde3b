//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/check"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/repro"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

// TestSmoke proves the cluster is fit for token scenarios before any of them runs.
func TestSmoke(t *testing.T) {
	f := features.New("cluster issues short-lived, non-extended tokens").
		WithLabel("scenario", "smoke").
		Assess("node is Ready", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			kc := client(t)
			nodes, err := kc.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			require.NotEmpty(t, nodes.Items)
			for _, n := range nodes.Items {
				require.True(t, nodeReady(n), "node %s not Ready: %v", n.Name, n.Status.Conditions)
			}
			return ctx
		}).
		Assess("a pod reaches the apiserver through the kubernetes Service", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// A broken kube-proxy shows as "dial tcp 10.96.0.1:443: i/o timeout" in a probe,
			// which would look like a token problem later: catch it here.
			kc := client(t)
			newest := built[len(built)-1]
			require.NoError(t, provider.cluster.LoadImages(ctx, newest.Image))
			d, err := repro.NewDeployer(ctx, kc, provider.opts.FixturesDir, repro.PodSettings{TTL: target.StockMinTTL, Interval: time.Second})
			require.NoError(t, err)
			ns := "satoken-smoke"
			_, err = d.Deploy(ctx, newest, ns, "probe", false)
			require.NoError(t, err)
			var lines []probelog.Line
			err = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
				raw, err := kc.Logs(ctx, ns, "probe", "probe")
				if err != nil {
					return false, nil
				}
				lines, _ = probelog.Parse(bytes.NewReader(raw))
				for _, l := range lines {
					if l.Kind == probelog.KindCall && l.Outcome == probelog.OutcomeOK {
						return true, nil
					}
				}
				return false, nil
			})
			require.NoError(t, err, "no successful call from the probe within 1m; its calls: %v", callSummary(lines))
			require.NoError(t, kc.Typed.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
			return ctx
		}).
		Assess("a TokenRequest for 2h is capped to the 1h maximum", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			require.Equal(t, int64(3600), tokenLifetime(ctx, t, 2*3600))
			return ctx
		}).
		Assess("a TokenRequest for 3607s (the kubelet default) is not extended to a year", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			require.Equal(t, int64(3600), tokenLifetime(ctx, t, 3607))
			return ctx
		}).
		Assess("the MutatingAdmissionPolicy API is served where the version has it", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// satoken check shortens tokens with it; the feature gate is set from the image tag.
			gv, err := check.PolicyAPI(client(t))
			require.NoError(t, err)
			require.Equal(t, provider.opts.AdmissionPolicyAPI(), gv)
			return ctx
		}).
		Assess("the audit log on the host receives events", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var events []audit.Event
			err := wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, func(context.Context) (bool, error) {
				var err error
				events, err = audit.ReadFile(provider.opts.AuditLog())
				if err != nil {
					return false, nil
				}
				for _, e := range events {
					if e.Verb == "create" && strings.HasSuffix(strings.SplitN(e.RequestURI, "?", 2)[0], "/serviceaccounts/default/token") {
						return true, nil
					}
				}
				return false, nil
			})
			require.NoError(t, err, "no TokenRequest event among %d audit events in %s", len(events), provider.opts.AuditLog())
			return ctx
		}).
		Feature()
	testenv.Test(t, f)
}

func client(t *testing.T) *kube.Client {
	t.Helper()
	kc, err := kube.New(provider.GetKubeconfig(), "")
	require.NoError(t, err)
	return kc
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// tokenLifetime requests a token for the default ServiceAccount and returns exp - iat as
// read from the JWT payload.
func tokenLifetime(ctx context.Context, t *testing.T, seconds int64) int64 {
	t.Helper()
	tr, err := client(t).Typed.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &seconds}}, metav1.CreateOptions{})
	require.NoError(t, err)
	claims, err := tokeninfo.Decode(tr.Status.Token)
	require.NoError(t, err)
	t.Logf("requested %ds: iat %d exp %d (token %s)", seconds, claims.Iat, claims.Exp, tokeninfo.Hash(tr.Status.Token))
	return claims.Exp - claims.Iat
}

func callSummary(lines []probelog.Line) []string {
	var out []string
	for _, l := range lines {
		if l.Kind == probelog.KindCall {
			out = append(out, l.Outcome+" "+l.Error)
		}
	}
	return out
}
