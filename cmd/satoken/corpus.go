package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/addons"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// newCorpusCommand is the corpus of real add-ons the gates are tried on (fixtures/addons):
// list them, build their images from their published module source, and put their own
// manifests or chart where `satoken check` can take them.
func newCorpusCommand() *cobra.Command {
	c := &cobra.Command{Use: "corpus", Short: "Real add-ons at real releases, built from their module source, to try the gates on"}
	load := func(spec string) ([]addons.Addon, string, error) {
		root, err := repoRoot()
		if err != nil {
			return nil, "", err
		}
		all, err := addons.Load(root)
		if err != nil {
			return nil, "", err
		}
		selected, err := addons.Select(all, spec)
		return selected, root, err
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the add-ons, the client-go each links and what check must conclude",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, _, err := load("all")
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tCLIENT-GO\tIMAGE\tEXPECT\tTITLE")
			for _, a := range all {
				var want []string
				for _, o := range a.Expect.Outcomes {
					want = append(want, string(o))
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", a.Name, a.ClientGo, a.Image, strings.Join(want, "|"), a.Title)
			}
			return w.Flush()
		},
	}
	build := &cobra.Command{
		Use:   "build NAME[,NAME...]|all",
		Short: "Build add-on images from their published module source (pinned), tagged as their manifests or chart run them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			selected, root, err := load(args[0])
			if err != nil {
				return err
			}
			env, err := prepare(cmd, phase.New())
			if err != nil {
				return err
			}
			built, err := addons.Build(cmd.Context(), addons.BuildInput{RepoRoot: root, CacheDir: env.CacheDir, Addons: selected, Log: env.Log})
			for _, b := range built {
				fmt.Fprintln(cmd.OutOrStdout(), b.Addon.Image)
			}
			return err
		},
	}
	render := &cobra.Command{
		Use:   "render NAME DIR",
		Short: "Put the add-on's own manifests or chart into DIR, as it ships; prints the satoken check flags that deploy it",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			selected, _, err := load(args[0])
			if err != nil {
				return err
			}
			if len(selected) != 1 {
				return fmt.Errorf("render takes one add-on")
			}
			flags, err := selected[0].Render(cmd.Context(), args[1])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), shellJoin(flags))
			return nil
		},
	}
	c.AddCommand(list, build, render)
	return c
}

// shellJoin quotes args for a shell where they need it.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " {}'\"$*?[]") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
