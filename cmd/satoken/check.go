package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/satoken-e2e/satoken-e2e/internal/check"
	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

type checkFlags struct {
	sessionFlags
	manifests string
	chart     check.ChartInput
	namespace string
	images    []string
	mutate    string
	waitCall  time.Duration
	system    bool
}

// chartOnly are the flags that only mean something with --chart.
var chartOnly = []string{"values", "set", "set-string", "set-file", "release", "skip-schema-validation"}

func newCheckCommand() *cobra.Command {
	var f checkFlags
	c := &cobra.Command{
		Use:   "check (--manifests DIR|FILE | --chart DIR|TGZ [--values FILE ...] [--set k=v ...] [--release NAME]) [--namespace NS] [--image IMG ...]",
		Short: "Gate: does a workload survive ServiceAccount token expiry?",
		Long: `Deploys manifests (plain YAML or a kustomization) or a Helm chart into a
short-token kind cluster with every pod's token TTL set to --ttl, loads local images,
waits until the tokens are past exp + 60s leeway and --settle more, and judges each pod
from the apiserver's audit log (its calls, by the pod bound into the token; 401s, which
carry no user, by the pod's IP, and for a hostNetwork pod by a user agent only its own
calls used on its node), container restarts and log lines mentioning "Unauthorized"
(every container's, init containers and native sidecars included) — not from the
workload's own log format. A canary pod from each position the workload's pods call from
(their namespace; their node when hostNetwork) sends requests with a bad token: where the
audit log does not show them from its address (SNAT, a proxy, another apiserver's log), no
pod passes on "no 401 seen".

--chart (a chart directory or packaged .tgz, local only) is rendered in-process as
"helm template" renders it, with --values, --set, --set-string, --set-file and --release
(default: the chart's name) as helm takes them, and created as "helm install" creates it:
the crds/ directories first, then the pre-install hooks by weight, the release in helm's
kind order, the post-install hooks (created in that order, not waited for). Test hooks and
hooks that do not run on install are skipped, and the log says so. Nothing is fetched:
dependencies must be in charts/ ("helm dependency build"), and a values schema that refers
to a remote schema needs --skip-schema-validation. Objects that name no namespace are
created in --namespace (for --manifests too), which is also the chart's
.Release.Namespace.

The workload is what the manifests create, wherever it runs (kube-system included): the
pods owned, through owner references, by the objects created, pods created during the
check under the workload's ServiceAccounts (those the manifests create or their pod
templates name), and every pod of a namespace the check created. Other pods of the same
namespaces (kube-proxy, CoreDNS) are neither judged nor waited for.

Tokens are shortened server-side by a MutatingAdmissionPolicy where the cluster serves
one (Kubernetes 1.32+; satoken's clusters turn the feature gate on), matched to the
workload's ServiceAccounts, which also covers pods an operator creates later under them;
otherwise the manifests' pod templates are rewritten (--mutate). On an existing cluster
(--kubeconfig) the manifests are rewritten unless --mutate policy; installing into
kube-system there needs --allow-system-namespaces, and the check deletes exactly the
objects it created; the audit log comes from --audit-log, and without it no pod can pass
(its calls are not visible). Every workload pod's token TTL is read back before the wait:
a pod whose tokens would outlive the check stops it with an error rather than pass.

Images the manifests reference that exist locally are loaded automatically; --image
names more. Writes the same report formats as satoken run.

Each pod is judged only on evidence: RELOADS needs calls that switched to a newer token
(JTI) twice — the kubelet's second rotation too, so a process that read its token once
but late, or re-reads on a timer slower than the rotation, does not pass on one switch —
and no 401 it cannot explain; the watch goes on until that second switch, or until the
token last used is itself past its refusal. A pod that makes no call after its token
expired (within --wait-for-call, which covers client-go's longest watch timeout), or
whose 401s cannot be attributed, or whose canary was not seen, is not judged.

Exit codes: 0 every pod judged and none broke, 1 harness error or bad input, 3 the
workload broke (401s after expiry, restarts, Unauthorized in its logs), 4 not judged
(some pod's evidence cannot decide; the report says why and what to do); 3 wins over 4.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	f.register(c, checkClusterName, "token TTL given to every pod (>= 10m)", 3*time.Minute, "keep watching this long after the tokens stop being accepted", "out-check")
	c.Flags().StringVar(&f.manifests, "manifests", "", "YAML/JSON manifests: a file, a kustomization directory, or a directory of *.yaml, *.yml, *.json")
	c.Flags().StringVar(&f.chart.Path, "chart", "", "local Helm chart: a chart directory or a packaged chart (.tgz)")
	c.Flags().StringArrayVarP(&f.chart.ValueFiles, "values", "f", nil, "chart values file (repeatable; later files win)")
	c.Flags().StringArrayVar(&f.chart.Set, "set", nil, "chart value, helm --set syntax: k=v[,k2=v2] (repeatable; wins over --values)")
	c.Flags().StringArrayVar(&f.chart.SetString, "set-string", nil, "chart value forced to a string, helm --set-string syntax (repeatable)")
	c.Flags().StringArrayVar(&f.chart.SetFile, "set-file", nil, "chart value read from a local file, helm --set-file syntax: k=FILE (repeatable)")
	c.Flags().StringVar(&f.chart.Release, "release", "", "chart release name (default: the chart's name)")
	c.Flags().BoolVar(&f.chart.SkipSchemaValidation, "skip-schema-validation", false, "do not check the chart values against its values.schema.json")
	c.Flags().StringVarP(&f.namespace, "namespace", "n", check.DefaultNamespace, "namespace of the objects that name none, and the chart's release namespace")
	c.MarkFlagsOneRequired("manifests", "chart")
	c.MarkFlagsMutuallyExclusive("manifests", "chart")
	c.Flags().StringSliceVar(&f.images, "image", nil, "local docker image to load into the cluster (repeatable)")
	c.Flags().DurationVar(&f.waitCall, "wait-for-call", check.DefaultWaitForCall, "after a pod's token stopped being accepted, wait this long for its next API call (covers client-go's 5-10 min watch timeout)")
	c.Flags().BoolVar(&f.system, "allow-system-namespaces", false, "on an existing cluster (--kubeconfig), let the manifests install into kube-system, kube-public or kube-node-lease (satoken's own clusters always do)")
	c.Flags().StringVar(&f.mutate, "mutate", check.MutateAuto, "how pods get --ttl tokens: "+strings.Join(check.MutateModes, "|")+" (auto: admission policy if served by satoken's own cluster, else manifests)")
	return c
}

func (f *checkFlags) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	f.accelerate(cmd)
	if err := f.validate(cmd, true, false); err != nil {
		return err
	}
	if f.waitCall <= 0 {
		return fmt.Errorf("--wait-for-call %s: must be positive", f.waitCall)
	}
	if !slices.Contains(check.MutateModes, f.mutate) {
		return fmt.Errorf("--mutate %q: use one of %s", f.mutate, strings.Join(check.MutateModes, ", "))
	}
	objs, notes, err := f.load(cmd)
	if err != nil {
		return err
	}
	log := phase.New()
	for _, n := range notes {
		log.Printf("chart: %s", n)
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	env, err := harness.Prepare(ctx, root, log)
	if err != nil {
		return err
	}
	var load []string
	if !f.target.existing() || f.target.load != "" {
		if load, err = localImages(cmd, f.images, check.Images(objs)); err != nil {
			return err
		}
	} else if len(f.images) > 0 {
		return fmt.Errorf("--image: on an existing cluster the images must be pullable there, or loaded with --load kind:NAME")
	}
	// The canary proves the workload's 401s are seen; it needs its image on the cluster.
	var canary string
	if !f.target.existing() || f.target.load != "" || f.target.registry != "" {
		c, err := probes.BuildCanary(ctx, probes.BuildInput{RepoRoot: env.Root, CacheDir: env.CacheDir, Log: log})
		if err != nil {
			return err
		}
		canary = c.Image
	}
	rep, err := f.withTarget(cmd, env, cmd.OutOrStdout(), func(t target.Target) (*report.Report, error) {
		return check.Run(ctx, check.Input{Target: t, Manifests: objs, Namespace: f.namespace, AllowSystemNamespaces: f.system, Load: load, Canary: canary, Mutate: f.mutate, TTL: f.ttl, Settle: f.settle, WaitForCall: f.waitCall, OutDir: f.out, Log: log})
	})
	if err != nil {
		return err
	}
	return exitFor(rep.Decide(), rep.Why())
}

// load reads the manifests or renders the chart, and refuses what the check cannot use,
// before any cluster is created.
func (f *checkFlags) load(cmd *cobra.Command) ([]*unstructured.Unstructured, []string, error) {
	if errs := validation.IsDNS1123Label(f.namespace); len(errs) > 0 {
		return nil, nil, fmt.Errorf("--namespace %q: %s", f.namespace, strings.Join(errs, "; "))
	}
	if f.chart.Path == "" {
		for _, name := range chartOnly {
			if cmd.Flags().Changed(name) {
				return nil, nil, fmt.Errorf("--%s needs --chart", name)
			}
		}
		objs, err := check.LoadManifests(f.manifests)
		if err != nil {
			return nil, nil, err
		}
		if err := check.Validate(objs); err != nil {
			return nil, nil, fmt.Errorf("--manifests %s: %w", f.manifests, err)
		}
		return objs, nil, nil
	}
	f.chart.Namespace = f.namespace
	r, err := check.LoadChart(f.chart)
	if err == nil {
		err = check.Validate(r.Objects)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--chart %s: %w", f.chart.Path, err)
	}
	return r.Objects, r.Notes, nil
}

// localImages returns the explicit images (which must exist locally) plus the manifests'
// images that happen to exist locally.
func localImages(cmd *cobra.Command, explicit, referenced []string) ([]string, error) {
	var out []string
	for _, img := range explicit {
		if !docker.ImageExists(cmd.Context(), img) {
			return nil, fmt.Errorf("--image %s is not present locally (docker pull/build it first)", img)
		}
		out = append(out, img)
	}
	for _, img := range referenced {
		if !slices.Contains(out, img) && docker.ImageExists(cmd.Context(), img) {
			out = append(out, img)
		}
	}
	return out, nil
}
