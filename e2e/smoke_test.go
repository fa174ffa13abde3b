//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/check"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/repro"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

// smokeCheck is one thing the suite's cluster must do before any scenario runs on it.
type smokeCheck struct {
	what  string
	check func(context.Context, *suite, *kube.Client) error
}

var smokeChecks = []smokeCheck{
	{"node is Ready", nodesReady},
	{"a pod reaches the apiserver through the kubernetes Service", podReachesAPIServer},
	{"a TokenRequest for 2h is capped to the 1h maximum", func(ctx context.Context, s *suite, kc *kube.Client) error {
		return tokenLifetimeIs(ctx, s, kc, 2*3600, 3600)
	}},
	{"a TokenRequest for 3607s (the kubelet default) is not extended to a year", func(ctx context.Context, s *suite, kc *kube.Client) error {
		return tokenLifetimeIs(ctx, s, kc, 3607, 3600)
	}},
	{"the MutatingAdmissionPolicy API is served where the version has it", policyAPIServed},
	{"the audit log on the host receives events", auditLogReceives},
}

// smoke is the env Setup step after the cluster's creation that proves it fit for token
// scenarios: the first check that fails fails the whole run, before any feature.
func smoke(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteOf(ctx)
	kc, err := kube.New(s.provider.GetKubeconfig(), "")
	if err != nil {
		return ctx, fmt.Errorf("smoke: %w", err)
	}
	for _, c := range smokeChecks {
		if err := c.check(ctx, s, kc); err != nil {
			return ctx, fmt.Errorf("smoke: the suite's cluster is not fit for token scenarios: %s: %w", c.what, err)
		}
		s.hctx.Log.Printf("smoke: %s", c.what)
	}
	return ctx, nil
}

func nodesReady(ctx context.Context, _ *suite, kc *kube.Client) error {
	nodes, err := kc.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(nodes.Items) == 0 {
		return errors.New("no node")
	}
	for _, n := range nodes.Items {
		if !nodeReady(n) {
			return fmt.Errorf("node %s not Ready: %v", n.Name, n.Status.Conditions)
		}
	}
	return nil
}

// podReachesAPIServer: a broken kube-proxy shows as "dial tcp 10.96.0.1:443: i/o timeout"
// in a probe, which would look like a token problem later: catch it here.
func podReachesAPIServer(ctx context.Context, s *suite, kc *kube.Client) error {
	newest := s.newest()
	if err := s.provider.cluster.LoadImages(ctx, newest.Image); err != nil {
		return err
	}
	d, err := repro.NewDeployer(ctx, kc, s.provider.opts.FixturesDir, repro.PodSettings{TTL: target.StockMinTTL, Interval: time.Second})
	if err != nil {
		return err
	}
	const ns = "satoken-smoke"
	if _, err := d.Deploy(ctx, newest, ns, "probe", false); err != nil {
		return err
	}
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
	if err != nil {
		return fmt.Errorf("no successful call from the probe within 1m (%w); its calls: %v", err, callSummary(lines))
	}
	return kc.Typed.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
}

// tokenLifetimeIs requests a token of `seconds` for the default ServiceAccount and checks
// exp - iat as read from the JWT payload.
func tokenLifetimeIs(ctx context.Context, s *suite, kc *kube.Client, seconds, want int64) error {
	tr, err := kc.Typed.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &seconds}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	claims, err := tokeninfo.Decode(tr.Status.Token)
	if err != nil {
		return err
	}
	s.hctx.Log.Printf("smoke: requested %ds: iat %d exp %d (token %s)", seconds, claims.Iat, claims.Exp, tokeninfo.Hash(tr.Status.Token))
	if got := claims.Exp - claims.Iat; got != want {
		return fmt.Errorf("requested %ds, the token lives %ds, want %ds", seconds, got, want)
	}
	return nil
}

// policyAPIServed: satoken check shortens tokens with it; the feature gate is set from the
// image tag.
func policyAPIServed(_ context.Context, s *suite, kc *kube.Client) error {
	gv, err := check.PolicyAPI(kc)
	if err != nil {
		return err
	}
	if want := s.provider.opts.AdmissionPolicyAPI(); gv != want {
		return fmt.Errorf("served %q, want %q", gv, want)
	}
	return nil
}

func auditLogReceives(ctx context.Context, s *suite, _ *kube.Client) error {
	var events []audit.Event
	err := wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, func(context.Context) (bool, error) {
		var err error
		events, err = audit.ReadFile(s.provider.opts.AuditLog())
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
	if err != nil {
		return fmt.Errorf("no TokenRequest event among %d audit events in %s: %w", len(events), s.provider.opts.AuditLog(), err)
	}
	return nil
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
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
