package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
)

func newStaleCommand() *cobra.Command {
	var asJSON bool
	var extension, kubeconfig, kubeContext string
	c := &cobra.Command{
		Use:   "stale AUDIT_LOG ...",
		Short: "List the clients an apiserver audit log shows using stale (grace-period) tokens",
		Long: `Reads apiserver audit logs (JSON lines, Metadata level or above; rotated files may be
given together) and lists, per namespace, ServiceAccount and pod, the requests annotated
authentication.k8s.io/stale-token: clients still sending a token past its intended expiry
(3607 s) that only the apiserver's one-year extension keeps working. They will get
401 Unauthorized when the extension ends (or on a cluster without it).

Clients are keyed by pod UID (a pod of the same name later is another client). A client
passes only on evidence: it was seen using two or more versions of its pod-bound token
(credential IDs, Kubernetes 1.29+) in one process — no container restart between them,
which only --kubeconfig can show (a restarted container reads the new token whatever its
client) — and no 401 came from its addresses. A client seen with a single token version
and no stale annotation is not judged: its token may simply not have been old enough yet
(give a log covering more of its life, beyond the kubelet's rotation at ~80 % of 3607 s).
A log that cannot show stale use at all (no stale-token annotation in it and --extension
not on) passes no one.

Exit codes: 0 every pod-bound client judged and none stale, 1 a log could not be read,
3 some client uses stale tokens, 4 no stale use but some client not judged (or no
pod-bound client at all); 3 wins over 4.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var events []audit.Event
			for _, path := range args {
				e, err := audit.ReadFile(path)
				if err != nil {
					return fmt.Errorf("audit log: %w", err)
				}
				if len(e) == 0 {
					return fmt.Errorf("audit log %s: no audit events (is it the apiserver's JSON audit log?)", path)
				}
				events = append(events, e...)
			}
			in := staleInput{Events: events, Extension: extension}
			if kubeconfig != "" {
				kc, err := kube.New(kubeconfig, kubeContext)
				if err != nil {
					return err
				}
				if in.Restarts, err = podRestarts(cmd.Context(), kc); err != nil {
					return err
				}
			}
			d, err := decideStale(in)
			if err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), d); err != nil {
					return err
				}
			} else {
				printStale(cmd.OutOrStdout(), d, len(events))
			}
			return exitFor(d.Outcome, d.why())
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	c.Flags().StringVar(&extension, "extension", "", "on|off: whether the apiserver extends tokens (--service-account-extend-token-expiration); without it, only stale-token annotations in the log show it can show stale use at all")
	c.Flags().StringVar(&kubeconfig, "kubeconfig", "", "the cluster the log is from: its pods' container restarts tell a client that re-read its token from one restarted onto a new one")
	c.Flags().StringVar(&kubeContext, "context", "", "with --kubeconfig: the context (default: the current one)")
	return c
}

// staleInput is what stale decides from.
type staleInput struct {
	Events    []audit.Event
	Extension string // "on", "off" or "" (unknown)
	// Restarts are, per pod UID, its containers that restarted (nil: no cluster given; a
	// pod absent from it cannot be checked).
	Restarts map[string][]restart
}

// staleDecision is stale's one outcome and the clients behind it.
type staleDecision struct {
	Outcome   report.Outcome      `json:"outcome"`
	CanShow   string              `json:"canShowStaleTokens"` // why the log can (or cannot) show stale use
	Stale     []audit.StaleUse    `json:"stale"`
	Reloading []audit.BoundClient `json:"reloading"`
	NotJudged []openClient        `json:"notJudged"`
	Notes     []string            `json:"notes,omitempty"`
}

// openClient is a client the log cannot decide, and why.
type openClient struct {
	audit.BoundClient
	Why string `json:"why"`
}

func (d staleDecision) why() []string {
	var out []string
	switch d.Outcome {
	case report.Broken:
		for _, u := range d.Stale {
			out = append(out, fmt.Sprintf("%s/%s pod %s (%d stale requests)", u.Namespace, u.ServiceAccount, u.Pod, u.Requests))
		}
	case report.NotJudged:
		for _, c := range d.NotJudged {
			out = append(out, fmt.Sprintf("%s/%s pod %s: %s", c.Namespace, c.ServiceAccount, c.Pod, c.Why))
		}
		out = append(out, d.Notes...)
	}
	return out
}

// decideStale judges each pod-bound client (a pod is its UID) once. Stale: seen with the
// stale-token annotation. Reloading (a pass): seen with two or more token versions in one
// container process — no container of its pod restarted while it called (needs the
// cluster), and no 401 from its addresses (a refused request names no user, so a 401
// from where it calls may be its own). Anything else is not judged, and so is a log that
// cannot show stale use at all: no stale-token annotation anywhere and the extension not
// known to be on.
func decideStale(in staleInput) (staleDecision, error) {
	d := staleDecision{Stale: audit.StaleTokens(in.Events)}
	switch in.Extension {
	case "on":
		d.CanShow = "the apiserver extends tokens (--extension on)"
	case "off":
		d.CanShow = "the apiserver does not extend tokens (--extension off): stale use shows as 401s, not annotations"
	case "":
		if len(d.Stale) > 0 {
			d.CanShow = "stale-token annotations are in the log: the apiserver extends tokens"
		}
	default:
		return d, fmt.Errorf("--extension %q: on or off", in.Extension)
	}
	isStale := map[string]bool{}
	for _, u := range d.Stale {
		isStale[u.Namespace+"/"+u.ServiceAccount+"/"+u.Pod+"/"+u.PodUID] = true
	}
	clients := audit.BoundClients(in.Events)
	for _, c := range clients {
		if isStale[c.Namespace+"/"+c.ServiceAccount+"/"+c.Pod+"/"+c.PodUID] {
			continue
		}
		if why := reloadDoubt(c, in); why != "" {
			d.NotJudged = append(d.NotJudged, openClient{c, why})
			continue
		}
		d.Reloading = append(d.Reloading, c)
	}
	if len(clients) == 0 {
		d.Notes = append(d.Notes, "no request with a pod-bound ServiceAccount token in the log: nothing to judge")
	}
	if d.CanShow == "" {
		d.Notes = append(d.Notes, "this log cannot show stale tokens: no authentication.k8s.io/stale-token annotation in it, and the apiserver is not known to extend tokens (give --extension on if it runs with --service-account-extend-token-expiration=true, the default)")
	}
	switch {
	case len(d.Stale) > 0:
		d.Outcome = report.Broken
	case len(d.NotJudged) > 0 || len(d.Notes) > 0:
		d.Outcome = report.NotJudged
	default:
		d.Outcome = report.Passed
	}
	return d, nil
}

// reloadDoubt says why a client not seen stale is not shown to re-read its token ("" when
// it is).
func reloadDoubt(c audit.BoundClient, in staleInput) string {
	switch {
	case c.Credentials < 2:
		return fmt.Sprintf("one token version over %s and no stale annotation: its token may not have been old enough yet", c.Last.Sub(c.First).Round(time.Second))
	case audit.UnauthorizedFromAny(in.Events, c.SourceIPs) > 0:
		return fmt.Sprintf("%d 401s came from its addresses %v: a refused request names no user, so they may be its own", audit.UnauthorizedFromAny(in.Events, c.SourceIPs), c.SourceIPs)
	case in.Restarts == nil:
		return fmt.Sprintf("%d token versions, but a container restart between them (a new process reads the new token) cannot be ruled out without the cluster: give --kubeconfig", c.Credentials)
	}
	restarts, known := in.Restarts[c.PodUID]
	if !known {
		return "its pod is no longer in the cluster: whether a container restarted while it called cannot be checked"
	}
	last := c.SwitchedAt[len(c.SwitchedAt)-1]
	for _, r := range restarts {
		// Only the current instance's start is known: earlier restarts of a container that
		// restarted since the client's first request may lie anywhere in its span.
		// A restart whose time the status does not show may lie anywhere too.
		if r.Started.IsZero() || r.Started.After(c.First) && (!r.Started.After(last) || r.Count > 1) {
			at := "at a time its status does not show"
			if !r.Started.IsZero() {
				at = "last at " + r.Started.UTC().Format(time.RFC3339)
			}
			return fmt.Sprintf("container %s of its pod restarted (%d times, %s) while it called: its token switches may be new processes reading the file once",
				r.Container, r.Count, at)
		}
	}
	return ""
}

// restart is a container that restarted: how often, and when its newest instance started
// (zero: not known).
type restart struct {
	Container string
	Count     int32
	Started   time.Time
}

// podRestarts lists, per pod UID of the cluster, the containers (init containers and
// native sidecars included) that restarted.
func podRestarts(ctx context.Context, kc *kube.Client) (map[string][]restart, error) {
	list, err := kc.Typed.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: listing pods: %w", err)
	}
	out := map[string][]restart{}
	for _, p := range list.Items {
		out[string(p.UID)] = restartsOf(p)
	}
	return out, nil
}

// restartsOf lists the pod's restarted containers with the start of their newest instance:
// the running one's, or, for a container waiting to restart (CrashLoopBackOff), the one
// that ended last; zero when the status shows neither.
func restartsOf(p corev1.Pod) []restart {
	rs := []restart{}
	for _, cs := range kube.AllContainerStatuses(p) {
		if cs.RestartCount == 0 {
			continue
		}
		r := restart{Container: cs.Name, Count: cs.RestartCount}
		switch {
		case cs.State.Running != nil:
			r.Started = cs.State.Running.StartedAt.Time
		case cs.State.Terminated != nil:
			r.Started = cs.State.Terminated.StartedAt.Time
		case cs.LastTerminationState.Terminated != nil:
			r.Started = cs.LastTerminationState.Terminated.StartedAt.Time
		}
		rs = append(rs, r)
	}
	return rs
}

func printStale(out io.Writer, d staleDecision, events int) {
	if len(d.Stale) == 0 {
		fmt.Fprintf(out, "no stale-token use in %d audit events\n", events)
	} else {
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NAMESPACE\tSERVICEACCOUNT\tPOD\tSOURCE IP\tREQUESTS\tFIRST\tLAST")
		for _, u := range d.Stale {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", u.Namespace, u.ServiceAccount, u.Pod, u.SourceIP, u.Requests,
				u.First.UTC().Format(time.RFC3339), u.Last.UTC().Format(time.RFC3339))
		}
		w.Flush()
	}
	if d.CanShow != "" {
		fmt.Fprintf(out, "can this log show stale tokens? yes: %s\n", d.CanShow)
	}
	if len(d.NotJudged) > 0 {
		fmt.Fprintf(out, "\nnot judged:\n")
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NAMESPACE\tSERVICEACCOUNT\tPOD\tTOKEN VERSIONS\tREQUESTS\tWHY")
		for _, c := range d.NotJudged {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", c.Namespace, c.ServiceAccount, c.Pod, c.Credentials, c.Requests, c.Why)
		}
		w.Flush()
	}
	for _, n := range d.Notes {
		fmt.Fprintf(out, "not judged: %s\n", n)
	}
}
