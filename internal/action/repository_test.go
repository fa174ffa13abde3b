package action

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kinddefaults "sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/yaml"
)

// The repository's own action.yml, at the module root.
const repoAction = "../../action.yml"

// runStepRE is the one shape a run step of action.yml has: a script of scripts/action
// with its inputs in env, so that nothing an input holds is ever read as shell code.
var runStepRE = regexp.MustCompile(`^bash "\$GITHUB_ACTION_PATH/(scripts/action/[a-z-]+\.sh)"$`)

func TestRepositoryActionSteps(t *testing.T) {
	a, err := Load(repoAction)
	require.NoError(t, err)
	for _, s := range a.Runs.Steps {
		if s.Uses != "" {
			continue
		}
		assert.NotContains(t, s.Run, "${{", "%s: inputs reach scripts through env:, never interpolated into run:", s.Title())
		m := runStepRE.FindStringSubmatch(strings.TrimSpace(s.Run))
		require.NotNil(t, m, "%s: run: %q", s.Title(), s.Run)
		assert.FileExists(t, filepath.Join("../..", m[1]))
	}
}

// The default node image is kind's own default for the kind library satoken is built
// with: bumping kind in go.mod without it fails here.
func TestRepositoryActionNodeImageIsKinds(t *testing.T) {
	a, err := Load(repoAction)
	require.NoError(t, err)
	assert.Equal(t, kinddefaults.Image, a.Inputs["node-image"].Default)
}

// The example workflow passes only inputs the action declares.
func TestExampleWorkflowUsesDeclaredInputs(t *testing.T) {
	a, err := Load(repoAction)
	require.NoError(t, err)
	data, err := os.ReadFile("../../scripts/github-actions/satoken-check.yml")
	require.NoError(t, err)
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string            `json:"uses"`
				With map[string]string `json:"with"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &wf))
	used := 0
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			if !strings.HasPrefix(s.Uses, "satoken-e2e/satoken-e2e@") {
				continue
			}
			used++
			for k := range s.With {
				assert.Contains(t, a.Inputs, k, "with.%s", k)
			}
		}
	}
	assert.Equal(t, 1, used, "the example uses the action once")
}

func TestLintProject(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, LintProject(repoAction, dir))
	assert.DirExists(t, filepath.Join(dir, ".git"))
	assert.FileExists(t, filepath.Join(dir, "action.yml"))
	data, err := os.ReadFile(filepath.Join(dir, ".github", "workflows", "action-steps.yml"))
	require.NoError(t, err)
	var wf struct {
		On struct {
			WorkflowCall struct {
				Inputs map[string]map[string]any `json:"inputs"`
			} `json:"workflow_call"`
		} `json:"on"`
		Jobs map[string]struct {
			Steps []map[string]any `json:"steps"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &wf))
	a, err := Load(repoAction)
	require.NoError(t, err)
	assert.Len(t, wf.On.WorkflowCall.Inputs, len(a.Inputs))
	assert.Equal(t, "string", wf.On.WorkflowCall.Inputs["node-image"]["type"])
	assert.Len(t, wf.Jobs["action-steps"].Steps, len(a.Runs.Steps))
	assert.Equal(t, []map[string]any{{"uses": "./"}}, wf.Jobs["uses-action"].Steps)
}
