package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
)

// ChartInput is a local Helm chart and what `helm install` would be told about it.
type ChartInput struct {
	Path       string   // chart directory or packaged chart (.tgz)
	ValueFiles []string // local values files, merged in order
	// Set, SetString and SetFile are helm's --set, --set-string and --set-file (commas
	// included); they override the values files, in that order.
	Set, SetString, SetFile []string
	Release                 string // release name; the chart's name when empty
	Namespace               string // release namespace; DefaultNamespace when empty
	// SkipSchemaValidation renders without checking the values against the chart's
	// values.schema.json (helm's --skip-schema-validation); needed when the schema refers
	// to remote schemas, which are not fetched.
	SkipSchemaValidation bool
}

// Rendered is a chart's objects in the order `helm install` creates them, and what the
// rendering left out or could not reproduce, for the log.
type Rendered struct {
	Objects []*unstructured.Unstructured
	Notes   []string
}

// LoadChart renders a local chart in-process as `helm template` does (client-only: no
// cluster, no repository, helm's default capabilities) and orders the objects as
// `helm install` creates them: the crds/ directories, the pre-install hooks by weight, the
// release's manifest in helm's kind order, the post-install hooks by weight. Hooks that
// do not run on install are left out and noted; a chart whose dependencies are missing
// from charts/ is refused, not fetched.
func LoadChart(in ChartInput) (Rendered, error) {
	if in.Path == "" {
		return Rendered{}, field.Required(field.NewPath("Chart"), "a chart directory or a packaged chart (.tgz)")
	}
	chrt, err := loadChart(in.Path)
	if err != nil {
		return Rendered{}, err
	}
	for _, f := range in.ValueFiles {
		if _, err := os.Stat(f); err != nil && f != "-" {
			return Rendered{}, field.Invalid(field.NewPath("ValueFiles"), f, "values are read from local files only: "+err.Error())
		}
	}
	opts := values.Options{ValueFiles: in.ValueFiles, Values: in.Set, StringValues: in.SetString, FileValues: in.SetFile}
	// No getters: values files are read from disk only, never from a URL.
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return Rendered{}, fmt.Errorf("values: %w", err)
	}
	if !in.SkipSchemaValidation {
		if err := refuseRemoteSchemas(chrt); err != nil {
			return Rendered{}, err
		}
	}
	rel, err := render(chrt, vals, in)
	if err != nil {
		return Rendered{}, fmt.Errorf("render: %w", err)
	}
	return order(chrt, rel)
}

// loadChart loads a chart as `helm install` does and refuses what it would not install.
func loadChart(path string) (*chartv2.Chart, error) {
	charter, err := loader.Load(path)
	if err != nil {
		return nil, field.Invalid(field.NewPath("Chart"), path, "not a chart directory or packaged chart (satoken renders local charts only; `helm pull` a remote one first): "+err.Error())
	}
	chrt, ok := charter.(*chartv2.Chart)
	if !ok {
		return nil, field.Invalid(field.NewPath("Chart"), path, "helm's install action renders charts of apiVersion v1 and v2 only")
	}
	if t := chrt.Metadata.Type; t != "" && t != "application" {
		return nil, field.Invalid(field.NewPath("Chart"), path, fmt.Sprintf("%s charts are not installable", t))
	}
	if deps := chrt.Metadata.Dependencies; len(deps) > 0 {
		reqs := make([]chart.Dependency, len(deps))
		for i, d := range deps {
			reqs[i] = d
		}
		if err := action.CheckDependencies(chrt, reqs); err != nil {
			return nil, field.Invalid(field.NewPath("Chart"), path, err.Error()+" (run `helm dependency build` first: satoken does not fetch charts)")
		}
	}
	return chrt, nil
}

// refuseRemoteSchemas refuses a chart whose values schema (or a subchart's) refers to a
// schema on the network: helm would fetch it to validate the values, and the check
// renders offline. It compiles each schema with a loader that fetches nothing; other
// compile errors are left for helm to report.
func refuseRemoteSchemas(chrt *chartv2.Chart) error {
	if len(chrt.Schema) > 0 {
		var remote remoteLoader
		compiler := jsonschema.NewCompiler()
		compiler.UseLoader(jsonschema.SchemeURLLoader{"file": jsonschema.FileLoader{}, "urn": permissiveLoader{}, "http": &remote, "https": &remote})
		if doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(chrt.Schema)); err == nil && compiler.AddResource("file:///values.schema.json", doc) == nil {
			_, _ = compiler.Compile("file:///values.schema.json")
		}
		if len(remote) > 0 {
			return fmt.Errorf("chart %s: values.schema.json refers to %s, which helm would fetch to validate the values; "+
				"satoken renders offline: vendor the schema, or skip the validation (--skip-schema-validation)", chrt.ChartFullPath(), remote[0])
		}
	}
	for _, dep := range chrt.Dependencies() {
		if err := refuseRemoteSchemas(dep); err != nil {
			return err
		}
	}
	return nil
}

// remoteLoader records the URLs a schema compiler asks for, and fetches none.
type remoteLoader []string

func (l *remoteLoader) Load(url string) (any, error) {
	*l = append(*l, url)
	return nil, errors.New("not fetched")
}

// permissiveLoader resolves urn: references to an accepting schema, as helm does by default.
type permissiveLoader struct{}

func (permissiveLoader) Load(string) (any, error) { return true, nil }

// render runs helm's install action as `helm template` does: a client-only dry run.
func render(chrt *chartv2.Chart, vals map[string]any, in ChartInput) (*release.Release, error) {
	// Helm logs the errors it returns; they are returned here too.
	install := action.NewInstall(action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler)))
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = in.Release
	if install.ReleaseName == "" {
		install.ReleaseName = chrt.Name()
	}
	install.Namespace = in.Namespace
	if install.Namespace == "" {
		install.Namespace = DefaultNamespace
	}
	install.SkipSchemaValidation = in.SkipSchemaValidation
	r, err := install.RunWithContext(context.Background(), chrt, vals)
	if err != nil {
		return nil, err
	}
	rel, ok := r.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("unexpected release type %T", r)
	}
	return rel, nil
}

// order lays the release out in install order and notes what is left out.
func order(chrt *chartv2.Chart, rel *release.Release) (Rendered, error) {
	var out Rendered
	if chrt.Metadata.Deprecated {
		out.Notes = append(out.Notes, fmt.Sprintf("chart %s is marked deprecated", chrt.Name()))
	}
	out.Notes = append(out.Notes, fmt.Sprintf("rendered as `helm template` does: release %s in namespace %s, Kubernetes %s and helm's built-in API versions for .Capabilities (not the cluster's), no lookup",
		rel.Name, rel.Namespace, common.DefaultCapabilities.KubeVersion.Version))
	for _, crd := range chrt.CRDObjects() {
		objs, err := kube.Decode(crd.File.Data)
		if err != nil {
			return Rendered{}, fmt.Errorf("%s: %w", crd.Filename, err)
		}
		out.Objects = append(out.Objects, objs...)
	}
	pre, post, skipped, err := installHooks(rel.Hooks)
	if err != nil {
		return Rendered{}, err
	}
	out.Notes = append(out.Notes, skipped...)
	if len(pre)+len(post) > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d pre-install and %d post-install hook(s) are created in helm's order, but not waited for as helm waits for each, nor deleted by their hook-delete-policy", len(pre), len(post)))
	}
	for _, docs := range [][]string{manifests(pre), {rel.Manifest}, manifests(post)} {
		for _, doc := range docs {
			objs, err := kube.Decode([]byte(doc))
			if err != nil {
				return Rendered{}, fmt.Errorf("rendered chart: %w", err)
			}
			out.Objects = append(out.Objects, objs...)
		}
	}
	return out, nil
}

// installHooks splits the hooks an install runs into pre- and post-install, each in the
// order helm runs them (by weight, then name; helm's kind order otherwise), and describes
// the hooks an install does not run.
func installHooks(hooks []*release.Hook) (pre, post []*release.Hook, skipped []string, err error) {
	for _, h := range hooks {
		isPre, isPost := slices.Contains(h.Events, release.HookPreInstall), slices.Contains(h.Events, release.HookPostInstall)
		what := fmt.Sprintf("%s %s (%s)", h.Kind, h.Name, h.Path)
		switch {
		case isPre && isPost:
			return nil, nil, nil, fmt.Errorf("hook %s runs both pre-install and post-install: helm creates it twice, satoken creates each object once", what)
		case isPre:
			pre = append(pre, h)
		case isPost:
			post = append(post, h)
		case slices.Contains(h.Events, release.HookTest):
			skipped = append(skipped, fmt.Sprintf("skipped test hook %s: `helm test` runs it, not an install", what))
		default:
			skipped = append(skipped, fmt.Sprintf("skipped hook %s: its events (%s) do not run on install", what, hookEvents(h)))
		}
	}
	byWeight := func(x []*release.Hook) {
		sort.SliceStable(x, func(i, j int) bool {
			if x[i].Weight != x[j].Weight {
				return x[i].Weight < x[j].Weight
			}
			return x[i].Name < x[j].Name
		})
	}
	byWeight(pre)
	byWeight(post)
	return pre, post, skipped, nil
}

func hookEvents(h *release.Hook) string {
	s := make([]string, len(h.Events))
	for i, e := range h.Events {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

func manifests(hooks []*release.Hook) []string {
	out := make([]string, len(hooks))
	for i, h := range hooks {
		out[i] = h.Manifest
	}
	return out
}
