package main

import (
	"encoding/json"
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

Exit codes: 0 no stale-token use, 1 a log could not be read, 3 some client uses stale
tokens, so CI can gate on it.`,
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
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(stale); err != nil {
					return err
				}
			} else {
				printStale(cmd.OutOrStdout(), stale, len(events))
			}
			if len(stale) > 0 {
				return &exitError{code: exitGate, err: fmt.Errorf("%d client(s) use stale tokens and will break when the grace period ends", len(stale))}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func printStale(out io.Writer, stale []audit.StaleUse, events int) {
	if len(stale) == 0 {
		fmt.Fprintf(out, "no stale-token use in %d audit events\n", events)
		return
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAMESPACE\tSERVICEACCOUNT\tPOD\tSOURCE IP\tREQUESTS\tFIRST\tLAST")
	for _, u := range stale {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", u.Namespace, u.ServiceAccount, u.Pod, u.SourceIP, u.Requests,
			u.First.UTC().Format(time.RFC3339), u.Last.UTC().Format(time.RFC3339))
	}
	w.Flush()
}
