package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	v2loader "helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const addonChart = "testdata/addon"

// packageChart packages a chart directory into a .tgz with helm's own packager.
func packageChart(t *testing.T, dir string) string {
	t.Helper()
	ch, err := v2loader.Load(dir)
	require.NoError(t, err)
	tgz, err := chartutil.Save(ch, t.TempDir())
	require.NoError(t, err)
	return tgz
}

// copyChart copies the test chart to a temporary directory for a test to change.
func copyChart(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "addon")
	require.NoError(t, os.CopyFS(dir, os.DirFS(addonChart)))
	return dir
}

func names(objs []*unstructured.Unstructured) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.GetKind() + "/" + o.GetName()
	}
	return out
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	require.Failf(t, "object not rendered", "%s/%s not in %v", kind, name, names(objs))
	return nil
}

// The objects come in the order helm install creates them, from a directory and from a
// package alike: the CRDs first, then the pre-install hooks by weight and then name (kind
// order alone would put the ConfigMap pre-c before the Job pre-b), the release in helm's
// kind order (the Widget, a kind helm does not know, last), the post-install hooks.
func TestLoadChartInstallOrder(t *testing.T) {
	want := []string{
		"CustomResourceDefinition/widgets.example.com",
		"Job/pre-a", "Job/pre-b", "ConfigMap/pre-c",
		"ServiceAccount/addon", "ConfigMap/addon-config", "Deployment/addon", "Widget/addon",
		"Job/post",
	}
	for name, path := range map[string]string{"directory": addonChart, "package": packageChart(t, addonChart)} {
		t.Run(name, func(t *testing.T) {
			r, err := LoadChart(ChartInput{Path: path})
			require.NoError(t, err)
			require.Equal(t, want, names(r.Objects))
			require.NoError(t, Validate(r.Objects))
			notes := strings.Join(r.Notes, "\n")
			require.Contains(t, notes, "skipped test hook Pod addon-test (addon/templates/tests/test-connection.yaml): `helm test` runs it, not an install")
			require.Contains(t, notes, "skipped hook Job upgrade-only (addon/templates/hooks.yaml): its events (pre-upgrade, post-rollback) do not run on install")
			require.Contains(t, notes, "3 pre-install and 1 post-install hook(s) are created in helm's order, but not waited for")
			require.NotContains(t, notes, "pre-b", "a hook that also runs on upgrade still runs on install")
		})
	}
}

// .Release.Namespace is the release namespace; objects that name none are left for the
// check to create there (it knows which kinds are namespaced).
func TestLoadChartNamespace(t *testing.T) {
	tests := []struct {
		in              ChartInput
		wantNS, release string
	}{
		{ChartInput{Path: addonChart}, DefaultNamespace, "addon"},
		{ChartInput{Path: addonChart, Namespace: "team-a", Release: "r1"}, "team-a", "r1"},
	}
	for _, tt := range tests {
		r, err := LoadChart(tt.in)
		require.NoError(t, err)
		cm := find(t, r.Objects, "ConfigMap", tt.release+"-config")
		require.Equal(t, tt.wantNS, cm.GetNamespace())
		dep := find(t, r.Objects, "Deployment", tt.release)
		require.Equal(t, "", dep.GetNamespace(), "no namespace in the template: the check's Input.Namespace applies")
		require.Equal(t, tt.wantNS, dep.GetLabels()["release-namespace"])
		require.Contains(t, r.Notes[0], "release "+tt.release+" in namespace "+tt.wantNS)
	}
}

func deploymentOf(t *testing.T, in ChartInput) (image string, replicas int64) {
	t.Helper()
	in.Path = addonChart
	r, err := LoadChart(in)
	require.NoError(t, err)
	dep := find(t, r.Objects, "Deployment", "addon")
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	replicas, _, _ = unstructured.NestedInt64(dep.Object, "spec", "replicas")
	return containers[0].(map[string]any)["image"].(string), replicas
}

// Values merge as helm merges them: chart defaults, then the files in order, then --set,
// --set-string and --set-file.
func TestLoadChartValues(t *testing.T) {
	dir := t.TempDir()
	first, second, file := filepath.Join(dir, "first.yaml"), filepath.Join(dir, "second.yaml"), filepath.Join(dir, "image.txt")
	writeFile(t, first, "image: from-first\nreplicas: 2\n")
	writeFile(t, second, "image: from-second\n")
	writeFile(t, file, "from-set-file")

	tests := []struct {
		name         string
		in           ChartInput
		wantImage    string
		wantReplicas int64
	}{
		{"chart defaults", ChartInput{}, "example.com/addon:1.0", 1},
		{"later file wins", ChartInput{ValueFiles: []string{first, second}}, "from-second", 2},
		{"--set over files, commas split keys", ChartInput{ValueFiles: []string{first, second}, Set: []string{"image=from-set,replicas=3"}}, "from-set", 3},
		{"--set-string over --set", ChartInput{Set: []string{"image=from-set"}, SetString: []string{"image=from-set-string"}}, "from-set-string", 1},
		{"--set-file over --set", ChartInput{Set: []string{"image=from-set"}, SetFile: []string{"image=" + file}}, "from-set-file", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			image, replicas := deploymentOf(t, tt.in)
			require.Equal(t, tt.wantImage, image)
			require.Equal(t, tt.wantReplicas, replicas)
		})
	}
}

func TestLoadChartBadInput(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yaml")
	writeFile(t, badYAML, "image: [unclosed\n")

	t.Run("no chart", func(t *testing.T) {
		_, err := LoadChart(ChartInput{})
		var fe *field.Error
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "Chart", fe.Field)
		require.Equal(t, field.ErrorTypeRequired, fe.Type)
	})

	tests := []struct {
		name      string
		in        ChartInput
		wantField string // the input the error names, when it is a field error
		want      string
	}{
		{"missing chart", ChartInput{Path: filepath.Join(dir, "absent")}, "Chart", "satoken renders local charts only"},
		{"not a chart", ChartInput{Path: dir}, "Chart", "Chart.yaml"},
		{"missing values file", ChartInput{Path: addonChart, ValueFiles: []string{filepath.Join(dir, "absent.yaml")}}, "ValueFiles", "no such file"},
		{"values file at a URL", ChartInput{Path: addonChart, ValueFiles: []string{"https://charts.example.invalid/values.yaml"}}, "ValueFiles", "values are read from local files only"},
		{"--set-file at a URL", ChartInput{Path: addonChart, SetFile: []string{"image=https://charts.example.invalid/image"}}, "", "failed parsing --set-file data: open https://charts.example.invalid/image: no such file"},
		{"values file not YAML", ChartInput{Path: addonChart, ValueFiles: []string{badYAML}}, "", "failed to parse " + badYAML},
		{"--set without a value", ChartInput{Path: addonChart, Set: []string{"image"}}, "", `failed parsing --set data: key "image" has no value`},
		{"values the schema refuses", ChartInput{Path: addonChart, Set: []string{"replicas=-1"}}, "", "replicas"},
		{"values the schema refuses (--set-string)", ChartInput{Path: addonChart, SetString: []string{"replicas=3"}}, "", "replicas"},
		{"invalid release name", ChartInput{Path: addonChart, Release: "Not_A_Name"}, "", `release name "Not_A_Name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadChart(tt.in)
			require.ErrorContains(t, err, tt.want)
			var fe *field.Error
			if tt.wantField == "" {
				require.NotErrorAs(t, err, &fe)
				return
			}
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.wantField, fe.Field)
		})
	}
}

// Charts helm would not install, or not render offline, are refused with the reason.
func TestLoadChartRefused(t *testing.T) {
	tests := []struct {
		name   string
		change func(dir string)
		want   string
	}{
		{"render error", func(dir string) {
			writeFile(t, filepath.Join(dir, "templates", "broken.yaml"), "{{ required \"name is required\" .Values.name }}\n")
		}, "render: execution error at (addon/templates/broken.yaml:1:3): name is required"},
		{"library chart", func(dir string) {
			writeFile(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: addon\nversion: 0.1.0\ntype: library\n")
		}, "library charts are not installable"},
		{"dependency missing from charts/", func(dir string) {
			writeFile(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: addon\nversion: 0.1.0\n"+
				"dependencies:\n- name: redis\n  version: 1.0.0\n  repository: https://charts.example.com\n")
		}, "found in Chart.yaml, but missing in charts/ directory: redis (run `helm dependency build` first: satoken does not fetch charts)"},
		{"hook on pre- and post-install", func(dir string) {
			writeFile(t, filepath.Join(dir, "templates", "twice.yaml"),
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n  annotations: {helm.sh/hook: \"pre-install,post-install\"}\n")
		}, "hook ConfigMap twice (addon/templates/twice.yaml) runs both pre-install and post-install"},
		{"remote schema", func(dir string) {
			writeFile(t, filepath.Join(dir, "values.schema.json"), `{"properties": {"image": {"$ref": "https://schemas.example.invalid/image.json"}}}`)
		}, "values.schema.json refers to https://schemas.example.invalid/image.json, which helm would fetch"},
		{"remote schema in a subchart", func(dir string) {
			sub := filepath.Join(dir, "charts", "sub")
			require.NoError(t, os.MkdirAll(sub, 0o755))
			writeFile(t, filepath.Join(sub, "Chart.yaml"), "apiVersion: v2\nname: sub\nversion: 0.1.0\n")
			writeFile(t, filepath.Join(sub, "values.schema.json"), `{"$id": "https://schemas.example.invalid/sub.json", "properties": {"x": {"$ref": "x.json"}}}`)
		}, "chart addon/charts/sub: values.schema.json refers to https://schemas.example.invalid/x.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyChart(t)
			tt.change(dir)
			_, err := LoadChart(ChartInput{Path: dir})
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// A remote schema is not fetched: skipping the validation renders the chart, and nothing
// else is refused for it.
func TestLoadChartSkipSchemaValidation(t *testing.T) {
	dir := copyChart(t)
	writeFile(t, filepath.Join(dir, "values.schema.json"), `{"properties": {"image": {"$ref": "https://schemas.example.invalid/image.json"}}}`)
	r, err := LoadChart(ChartInput{Path: dir, SkipSchemaValidation: true})
	require.NoError(t, err)
	find(t, r.Objects, "Deployment", "addon")
}

// A chart that renders no workload passes the rendering and is refused by Validate.
func TestLoadChartNoWorkload(t *testing.T) {
	dir := copyChart(t)
	for _, f := range []string{"deployment.yaml", "hooks.yaml"} {
		require.NoError(t, os.Remove(filepath.Join(dir, "templates", f)))
	}
	r, err := LoadChart(ChartInput{Path: dir})
	require.NoError(t, err)
	require.ErrorIs(t, Validate(r.Objects), errNoWorkload)
}

// The chart `helm create` scaffolds, which most published charts start from, renders as
// helm renders it: its test hook is left out and said so.
func TestLoadChartHelmCreate(t *testing.T) {
	dir, err := chartutil.Create("starter", t.TempDir())
	require.NoError(t, err)
	r, err := LoadChart(ChartInput{Path: dir, Release: "demo", Namespace: "addons"})
	require.NoError(t, err)
	require.Equal(t, []string{"ServiceAccount/demo-starter", "Service/demo-starter", "Deployment/demo-starter"}, names(r.Objects))
	require.NoError(t, Validate(r.Objects))
	require.Contains(t, strings.Join(r.Notes, "\n"), "skipped test hook Pod demo-starter-test-connection")
}
