package table

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/measure"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
)

// KubernetesEntry is what the clusters of one Kubernetes minor were measured to do with
// tokens, over every run merged: so what differs by version is read off runs, not typed.
type KubernetesEntry struct {
	K8sMinor   string    `json:"k8sMinor"`   // e.g. v1.34
	K8sVersion string    `json:"k8sVersion"` // the apiserver's version in the latest run, e.g. v1.34.4
	MeasuredAt time.Time `json:"measuredAt"` // the latest run's finishedAt
	Runs       int       `json:"runs"`       // clusters merged
	// Claims are the latest run's: the claims of one issued token, nothing to aggregate.
	Claims *measure.Claims `json:"tokenClaims,omitempty"`
	// Rotation and Expiry span every run that measured them.
	Rotation *measure.Rotation `json:"kubeletRotation,omitempty"`
	Expiry   *measure.Expiry   `json:"apiserverAtExp,omitempty"`
	// Unmeasured counts the runs that lacked each part (their reports' notes say why), so
	// a span over fewer runs than Runs says so.
	Unmeasured Unmeasured `json:"unmeasured,omitzero"`
}

// Unmeasured counts merged runs without a part of the measurement.
type Unmeasured struct {
	Claims   int `json:"tokenClaims,omitempty"`
	Rotation int `json:"kubeletRotation,omitempty"`
	Expiry   int `json:"apiserverAtExp,omitempty"`
}

// measuredClusters are a report's clusters that measured something: a cluster that
// ended early may have measured only what happened before it failed.
func measuredClusters(r *report.Report) []report.Cluster {
	var out []report.Cluster
	for _, c := range r.Clusters {
		if c.Error == "" && c.Measured != nil {
			out = append(out, c)
		}
	}
	return out
}

// checkClusters refuses a measured cluster whose version names no minor, before Add
// merges anything.
func checkClusters(name string, r *report.Report) error {
	for _, c := range measuredClusters(r) {
		if err := checkRelease(c.K8sVersion); err != nil {
			return fmt.Errorf("%s: cluster %q: k8sVersion %w", name, c.Name, err)
		}
	}
	return nil
}

// addKubernetes merges the measured clusters of r into one entry per minor.
func (t *Table) addKubernetes(r *report.Report) {
	for _, c := range measuredClusters(r) {
		minor, _ := K8sMinor(c.K8sVersion) // checked by checkClusters
		i := slices.IndexFunc(t.Kubernetes, func(k KubernetesEntry) bool { return k.K8sMinor == minor })
		if i < 0 {
			i = len(t.Kubernetes)
			t.Kubernetes = append(t.Kubernetes, KubernetesEntry{K8sMinor: minor})
		}
		t.Kubernetes[i].add(r.FinishedAt, c.K8sVersion, c.Measured)
	}
	slices.SortFunc(t.Kubernetes, func(a, b KubernetesEntry) int { return semver.Compare(a.K8sMinor, b.K8sMinor) })
}

// add merges one cluster's measurement, finished at.
func (k *KubernetesEntry) add(at time.Time, version string, m *measure.Measured) {
	k.Runs++
	// The same rule as Entry: of two patches in one report, the newer is the latest.
	if k.Runs == 1 || at.After(k.MeasuredAt) || at.Equal(k.MeasuredAt) && semver.Compare(version, k.K8sVersion) > 0 {
		k.MeasuredAt, k.K8sVersion, k.Claims = at, version, m.Claims
	}
	if m.Claims == nil {
		k.Unmeasured.Claims++
	}
	switch r := m.Rotation; {
	case r == nil:
		k.Unmeasured.Rotation++
	case k.Rotation == nil:
		k.Rotation = new(*r)
	default:
		k.Rotation.Samples += r.Samples
		k.Rotation.MinSeconds, k.Rotation.MaxSeconds = min(k.Rotation.MinSeconds, r.MinSeconds), max(k.Rotation.MaxSeconds, r.MaxSeconds)
		k.Rotation.MinFraction, k.Rotation.MaxFraction = min(k.Rotation.MinFraction, r.MinFraction), max(k.Rotation.MaxFraction, r.MaxFraction)
	}
	switch x := m.Expiry; {
	case x == nil:
		k.Unmeasured.Expiry++
	case k.Expiry == nil:
		k.Expiry = new(*x) // its times are never changed in place: sharing them is safe
	default:
		k.Expiry.Clients += x.Clients
		k.Expiry.LastAcceptedSeconds = extreme(k.Expiry.LastAcceptedSeconds, x.LastAcceptedSeconds, +1)
		k.Expiry.FirstRefusedSeconds = extreme(k.Expiry.FirstRefusedSeconds, x.FirstRefusedSeconds, -1)
	}
}

// extreme is the larger (sign +1) or smaller (-1) of two optional times; a missing one
// is no answer of the apiserver, so it never wins.
func extreme(a, b *float64, sign int) *float64 {
	if a == nil || b != nil && cmp.Compare(*b, *a) == sign {
		return b
	}
	return a
}

// unmeasuredCell is a part no merged run had data for.
const unmeasuredCell = "not measured"

// kubernetesMarkdown renders the Kubernetes entries as the README's second table.
func (t Table) kubernetesMarkdown(b *strings.Builder) {
	if len(t.Kubernetes) == 0 {
		return
	}
	b.WriteString("\n**What each Kubernetes minor did with the tokens (measured)**\n\n" +
		"| Kubernetes | runs | token claims (kubernetes.io keys; jti; node-bound) | kubelet rotation (iat + s, share of lifetime) | apiserver at exp (last accepted / first refused start-up token) |\n" +
		"|---|---|---|---|---|\n")
	for _, k := range t.Kubernetes {
		fmt.Fprintf(b, "| %s (latest %s) | %d | %s | %s | %s |\n", k.K8sMinor, k.K8sVersion, k.Runs,
			k.claimsCell(), withMissing(k.rotationCell(), k.Unmeasured.Rotation, k.Runs), withMissing(k.expiryCell(), k.Unmeasured.Expiry, k.Runs))
	}
	fmt.Fprintf(b, "\nToken claims are the latest run's (a token requested bound to a probe pod, as the kubelet does); "+
		"rotation and the apiserver's answers span every run that measured them (the kubelet's replacement of a "+
		"projected token: the next token's iat minus the previous one's; the apiserver's answers to a probe's start-up "+
		"token sent after its exp, in seconds after exp); \"%s\": no data in the run(s), each report's notes say why. "+
		"Token mode %s, TTL %d s.\n", unmeasuredCell, t.TokenMode, t.TTLSeconds)
}

func (k KubernetesEntry) claimsCell() string {
	c := k.Claims
	if c == nil {
		return unmeasuredCell + " in the latest run"
	}
	keys := strings.Join(c.KubernetesIO, ", ")
	if keys == "" {
		keys = "no kubernetes.io claim"
	}
	return fmt.Sprintf("%s; jti %s; node-bound %s", keys, yesNo(c.JTI), yesNo(c.NodeBound))
}

func (k KubernetesEntry) rotationCell() string {
	r := k.Rotation
	if r == nil {
		return unmeasuredCell
	}
	return fmt.Sprintf("iat + %s s, %s %% (%s)", fromTo(r.MinSeconds, r.MaxSeconds, 1), fromTo(r.MinFraction, r.MaxFraction, 100), measure.Count(r.Samples, "rotation"))
}

func (k KubernetesEntry) expiryCell() string {
	x := k.Expiry
	if x == nil {
		return unmeasuredCell
	}
	after := func(s *float64, none string) string {
		if s == nil {
			return none
		}
		return fmt.Sprintf("exp + %.0f s", *s)
	}
	return fmt.Sprintf("%s / %s (%s)", after(x.LastAcceptedSeconds, "none accepted"), after(x.FirstRefusedSeconds, "none refused"), measure.Count(x.Clients, "client"))
}

// withMissing notes how many of the runs a span rests on when some lacked the part.
func withMissing(cell string, missing, runs int) string {
	if missing == 0 || missing == runs {
		return cell
	}
	return fmt.Sprintf("%s; in %d of %d runs", cell, runs-missing, runs)
}

// fromTo shows lo–hi scaled and rounded, one number when both round alike.
func fromTo(lo, hi, scale float64) string {
	a, b := fmt.Sprintf("%.0f", lo*scale), fmt.Sprintf("%.0f", hi*scale)
	if a == b {
		return a
	}
	return a + "–" + b
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
