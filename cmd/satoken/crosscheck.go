package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
)

// newCrossCheckCommand keeps the measured cross-check table (stock vs accelerated) and
// its markdown block (docs/accelerated.md), as `scan table` keeps the verdict table.
func newCrossCheckCommand() *cobra.Command {
	var from, table, readme string
	c := &cobra.Command{
		Use:   "crosscheck --from REPORT.json --table FILE [--readme FILE.md]",
		Short: "Add a `run --fast --cross-check` report to the cross-check table (and its markdown block)",
		Long: `Adds the stock-vs-accelerated comparison of a cross-check report.json to the table in
--table (created if absent; a version's older cross-check is replaced) and, with --readme,
regenerates the cross-check block of that markdown file (this repository's:
docs/accelerated.md) from it. A report that ended early or holds no cross-check is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || table == "" {
				return fmt.Errorf("give --from REPORT.json and --table FILE")
			}
			rep, err := report.Load(from)
			if err != nil {
				return err
			}
			var tbl report.CrossCheckTable
			switch data, err := os.ReadFile(table); {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return err
			default:
				if err := json.Unmarshal(data, &tbl); err != nil {
					return fmt.Errorf("--table %s: %w", table, err)
				}
			}
			if err := tbl.Add(rep); err != nil {
				return fmt.Errorf("--from %s: %w", from, err)
			}
			data, err := json.MarshalIndent(tbl, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(table, append(data, '\n'), 0o644); err != nil {
				return err
			}
			if readme == "" {
				return nil
			}
			doc, err := os.ReadFile(readme)
			if err != nil {
				return err
			}
			updated, err := tbl.ReplaceInReadme(string(doc))
			if err != nil {
				return fmt.Errorf("--readme %s: %w", readme, err)
			}
			return os.WriteFile(readme, []byte(updated), 0o644)
		},
	}
	c.Flags().StringVar(&from, "from", "", "report.json of satoken run --fast --cross-check")
	c.Flags().StringVar(&table, "table", "", "the cross-check table (e.g. fixtures/cross-check.json)")
	c.Flags().StringVar(&readme, "readme", "", "also regenerate the cross-check block between the markers of this markdown file (docs/accelerated.md)")
	return c
}
