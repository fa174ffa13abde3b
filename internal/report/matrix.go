package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Combine joins the reports of one matrix run, one per cluster (Kubernetes version), into
// one: clusters, results and expectations in the parts' order, phases named after their
// version, and the parts' errors joined. The run's settings are the parts' (they share
// them).
func Combine(parts []*Report) *Report {
	out := *parts[0]
	out.Clusters, out.Results, out.Expectations, out.Phases = nil, nil, nil, nil
	var errs []string
	for _, p := range parts {
		if p.StartedAt.Before(out.StartedAt) {
			out.StartedAt = p.StartedAt
		}
		if p.FinishedAt.After(out.FinishedAt) {
			out.FinishedAt = p.FinishedAt
		}
		version := p.Versions()
		for _, c := range p.Clusters {
			if c.Error == "" && len(p.Clusters) == 1 {
				c.Error = p.Error
			}
			out.Clusters = append(out.Clusters, c)
		}
		out.Results = append(out.Results, p.Results...)
		out.Expectations = append(out.Expectations, p.Expectations...)
		for _, ph := range p.Phases {
			ph.Name = fmt.Sprintf("[%s] %s", strings.Join(version, ","), ph.Name)
			out.Phases = append(out.Phases, ph)
		}
		if p.Error != "" {
			errs = append(errs, fmt.Sprintf("%s: %s", strings.Join(version, ","), p.Error))
		}
	}
	out.Error = strings.Join(errs, "; ")
	out.Decide()
	return &out
}

// Versions lists the Kubernetes versions of the report's clusters, then any other its
// results name, in order.
func (r *Report) Versions() []string {
	var out []string
	for _, c := range r.Clusters {
		if !slices.Contains(out, c.On()) {
			out = append(out, c.On())
		}
	}
	for _, res := range r.Results {
		if !slices.Contains(out, res.On()) {
			out = append(out, res.On())
		}
	}
	return out
}

// accelerated marks, in a version's name, what an accelerated control plane measured: a
// cross-check puts it beside the same version's stock cluster.
const accelerated = " accelerated"

// On names what a cluster's results were measured on: its version, marked when the
// control plane was accelerated.
func (c Cluster) On() string {
	if c.AcceleratedMinTokenSeconds > 0 {
		return c.K8sVersion + accelerated
	}
	return c.K8sVersion
}

// On names what the result was measured on (see Cluster.On).
func (res Result) On() string {
	if res.Accelerated {
		return res.K8sVersion + accelerated
	}
	return res.K8sVersion
}

// Accelerated reports whether any of the report's clusters had an accelerated control plane.
func (r *Report) Accelerated() bool {
	return slices.ContainsFunc(r.Clusters, func(c Cluster) bool { return c.AcceleratedMinTokenSeconds > 0 })
}

// matrix reports whether the results come from more than one Kubernetes version.
func (r *Report) matrix() bool { return len(r.Versions()) > 1 }

// resultsOn are the results measured on one Kubernetes version.
func (r *Report) resultsOn(version string) []Result {
	var out []Result
	for _, res := range r.Results {
		if res.On() == version {
			out = append(out, res)
		}
	}
	return out
}

// matrixTable writes one row per client and one column per Kubernetes version.
func (r *Report) matrixTable(b *strings.Builder) {
	versions := r.Versions()
	var clients []string
	cell := map[[2]string]Result{}
	for _, res := range r.Results {
		if !slices.Contains(clients, res.Name()) {
			clients = append(clients, res.Name())
		}
		cell[[2]string{res.Name(), res.On()}] = res
	}
	fmt.Fprintf(b, "| client | %s |\n|---|%s\n", strings.Join(versions, " | "), strings.Repeat("---|", len(versions)))
	for _, name := range clients {
		fmt.Fprintf(b, "| %s |", name)
		for _, v := range versions {
			res, ok := cell[[2]string{name, v}]
			if !ok {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(b, " %s |", res.matrixCell())
		}
		b.WriteString("\n")
	}
}

// matrixCell is a verdict with the data that places it: the first 401 and the recovery.
func (res Result) matrixCell() string {
	s := "**" + string(res.Verdict) + "**"
	if res.FirstUnauthorizedAt != nil {
		s += ", first 401 " + relative(res.FirstUnauthorizedAt, res.TokenExp)
	}
	if p := res.Probe; p != nil && p.Restarted {
		s += ", restart → recovered " + recovery(p)
	}
	return s
}

// clusterLines says where each part ran and what its Kubernetes did with tokens.
func (r *Report) clusterLines(b *strings.Builder) {
	for _, c := range r.Clusters {
		fmt.Fprintf(b, "- **Kubernetes %s**: %s", dash(c.On()), dash(c.Kind))
		if c.AcceleratedMinTokenSeconds > 0 {
			fmt.Fprintf(b, "; accelerated control plane (apiserver accepts tokens down to %ds, kubelet re-syncs pods more often; validator leeway and auth cache stock)", c.AcceleratedMinTokenSeconds)
		}
		if c.Images != "" {
			fmt.Fprintf(b, "; images via %s", c.Images)
		}
		if c.NodeImage != "" {
			fmt.Fprintf(b, "; node image %s", c.NodeImage)
		}
		if c.TTLSeconds > 0 && len(r.Clusters) > 1 {
			fmt.Fprintf(b, "; token TTL %ds", c.TTLSeconds)
		}
		if c.Error != "" {
			fmt.Fprintf(b, "; **ended early: %s**", c.Error)
		}
		b.WriteString(".\n")
		if c.Measured != nil {
			fmt.Fprintf(b, "  Measured: %s.\n", c.Measured.Summary())
		}
		for _, o := range c.ApiserverOutages {
			fmt.Fprintf(b, "  The apiserver was unavailable from %s to %s (%s): no verdict is built on that span.\n",
				o.From.UTC().Format(time.TimeOnly), o.To.UTC().Format(time.TimeOnly), o.To.Sub(o.From).Round(time.Second))
		}
	}
	b.WriteString("\nEach verdict's evidence is in report.json (`evidence`).\n\n")
}

// PartFailed is the report of a matrix part that ended before its session made one.
func PartFailed(command string, cluster Cluster, started time.Time, err error) *Report {
	cluster.Error = err.Error()
	r := &Report{SchemaVersion: SchemaVersion, Command: command, StartedAt: started, FinishedAt: time.Now().UTC(),
		Clusters: []Cluster{cluster}, Error: err.Error()}
	r.Decide()
	return r
}
