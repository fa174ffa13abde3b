package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
)

func newStaleCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "stale AUDIT_LOG ...",
		Short: "List the clients an apiserver audit log shows using stale (grace-period) tokens",
		Long: `Reads apiserver audit logs (JSON lines, Metadata level or above; rotated files may be
given together) and lists, per namespace, ServiceAccount and pod, the requests annotated
authentication.k8s.io/stale-token: clients still sending a token past its intended expiry
(3607 s) that only the apiserver's one-year extension keeps working. They will get
401 Unauthorized when the extension ends (or on a cluster without it).

A client passes only on evidence: it was seen using two or more versions of its
pod-bound token (credential IDs, Kubernetes 1.29+), so it re-reads the file. A client seen
with a single token version and no stale annotation is not judged: its token may simply
not have been old enough yet (give a log covering more of its life, beyond the kubelet's
rotation at ~80 % of 3607 s).

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
			stale := audit.StaleTokens(events)
			unjudged := unjudgedClients(audit.BoundClients(events), stale)
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), struct {
					Stale     []audit.StaleUse    `json:"stale"`
					NotJudged []audit.BoundClient `json:"notJudged"`
				}{stale, unjudged}); err != nil {
					return err
				}
			} else {
				printStale(cmd.OutOrStdout(), stale, unjudged, len(events))
			}
			var broken, open []string
			for _, u := range stale {
				broken = append(broken, fmt.Sprintf("%s/%s pod %s (%d stale requests)", u.Namespace, u.ServiceAccount, u.Pod, u.Requests))
			}
			for _, c := range unjudged {
				open = append(open, fmt.Sprintf("%s/%s pod %s (one token version over %s)", c.Namespace, c.ServiceAccount, c.Pod, c.Last.Sub(c.First).Round(time.Second)))
			}
			if len(events) > 0 && len(audit.BoundClients(events)) == 0 {
				open = append(open, "no request with a pod-bound ServiceAccount token in the log: nothing to judge")
			}
			return outcomeExit(broken, open)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

// unjudgedClients are the pod-bound clients neither seen stale nor seen re-reading.
func unjudgedClients(clients []audit.BoundClient, stale []audit.StaleUse) []audit.BoundClient {
	isStale := map[string]bool{}
	for _, u := range stale {
		isStale[u.Namespace+"/"+u.ServiceAccount+"/"+u.Pod] = true
	}
	var out []audit.BoundClient
	for _, c := range clients {
		if c.Credentials < 2 && !isStale[c.Namespace+"/"+c.ServiceAccount+"/"+c.Pod] {
			out = append(out, c)
		}
	}
	return out
}

func printStale(out io.Writer, stale []audit.StaleUse, unjudged []audit.BoundClient, events int) {
	if len(stale) == 0 {
		fmt.Fprintf(out, "no stale-token use in %d audit events\n", events)
	} else {
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NAMESPACE\tSERVICEACCOUNT\tPOD\tSOURCE IP\tREQUESTS\tFIRST\tLAST")
		for _, u := range stale {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", u.Namespace, u.ServiceAccount, u.Pod, u.SourceIP, u.Requests,
				u.First.UTC().Format(time.RFC3339), u.Last.UTC().Format(time.RFC3339))
		}
		w.Flush()
	}
	if len(unjudged) == 0 {
		return
	}
	fmt.Fprintf(out, "\nnot judged (seen with one token version and no stale annotation; need a log covering their token's rotation):\n")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAMESPACE\tSERVICEACCOUNT\tPOD\tTOKEN VERSIONS\tREQUESTS\tFIRST\tLAST")
	for _, c := range unjudged {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", c.Namespace, c.ServiceAccount, c.Pod, c.Credentials, c.Requests,
			c.First.UTC().Format(time.RFC3339), c.Last.UTC().Format(time.RFC3339))
	}
	w.Flush()
}
