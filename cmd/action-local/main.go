// Command action-local runs action.yml's steps on this machine, in order, as GitHub's
// runner would (see internal/action): the same scripts with the same env built from the
// inputs, uses: steps skipped except upload-artifact, copied to -out. Inputs are
// name=value arguments:
//
//	go run ./cmd/action-local -workdir ../my-addon manifests=deploy images=my-addon:dev node-image=build
//
// It exits with the first failed step's exit code (3 broken, 4 not judged, 1 harness
// error), 0 when every step passed. -lint-project DIR writes the repository actionlint
// checks the action in (make lint-actions).
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/satoken-e2e/satoken-e2e/internal/action"
)

// assignments are name=value arguments or flag values.
type assignments map[string]string

func (a assignments) String() string { return fmt.Sprint(map[string]string(a)) }

func (a assignments) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want NAME=VALUE", kv)
	}
	a[k] = v
	return nil
}

func main() {
	os.Exit(run())
}

func run() int {
	env := assignments{}
	actionFile := flag.String("action", "action.yml", "the action to run")
	workdir := flag.String("workdir", ".", "the workspace (GITHUB_WORKSPACE): where steps run and relative input paths start")
	out := flag.String("out", "", "where artifacts (one directory each) and the job summary (summary.md) go (default <workdir>/action-local)")
	ref := flag.String("ref", "", "github.action_ref (empty: the action is used from a path, as uses: ./)")
	lintProject := flag.String("lint-project", "", "write the repository actionlint checks the action in to this directory, and exit")
	flag.Var(env, "env", "NAME=VALUE set for every step (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: action-local [flags] [input=value ...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *lintProject != "" {
		return report(action.LintProject(*actionFile, *lintProject))
	}
	inputs := assignments{}
	for _, arg := range flag.Args() {
		if err := inputs.Set(arg); err != nil {
			return report(fmt.Errorf("input %w", err))
		}
	}
	if *out == "" {
		*out = filepath.Join(*workdir, "action-local")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := action.Run(ctx, action.RunInput{
		Action: *actionFile, Inputs: inputs, Workdir: *workdir, Env: env, Ref: *ref,
		Artifacts: filepath.Join(*out, "artifacts"),
	})
	if res != nil {
		printResult(res)
		if werr := writeSummary(*out, res.Summary); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return report(err)
	}
	return res.ExitCode()
}

func printResult(res *action.Result) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nSTEP\tRAN\tEXIT\tTIME\tNOTE")
	for _, s := range res.Steps {
		fmt.Fprintf(w, "%s\t%v\t%d\t%s\t%s\n", s.Title, s.Ran, s.ExitCode, s.Duration, s.Note)
	}
	for _, name := range slices.Sorted(maps.Keys(res.Outputs)) {
		fmt.Fprintf(w, "output %s\t%s\n", name, res.Outputs[name])
	}
	w.Flush()
}

func writeSummary(out, summary string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	path := filepath.Join(out, "summary.md")
	fmt.Printf("job summary: %s\n", path)
	return os.WriteFile(path, []byte(summary), 0o644)
}

// report prints err, if any, and returns the exit code for it: 1 (a harness error).
func report(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "action-local:", err)
	return 1
}
