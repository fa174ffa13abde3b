// Package action runs a composite GitHub Action's steps on this machine, in order, the way
// GitHub's runner does: each run step's script through bash with the step's env (built
// from the inputs and their defaults), GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and
// GITHUB_STEP_SUMMARY honoured between steps, if: status conditions, and upload-artifact
// emulated by a copy; other uses: steps are skipped with a note. It exists so that
// action.yml's commands can be run and tested locally before a workflow runs them.
//
// Only what a small composite action needs is emulated, and anything else is refused
// when the action is loaded rather than half-run: bash steps, ${{ }} expressions that
// name one value (inputs.x, steps.id.outputs.x, github.workspace, github.action_path,
// github.action_ref, runner.temp, runner.os) and if: conditions that are one status
// function.
package action

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// Action is an action.yml. Fields GitHub knows but the runner has no use for (author,
// branding) are declared so that a misspelled key is refused, not ignored.
type Action struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Author      string            `json:"author,omitempty"`
	Branding    map[string]string `json:"branding,omitempty"`
	Inputs      map[string]Input  `json:"inputs,omitempty"`
	Outputs     map[string]Output `json:"outputs,omitempty"`
	Runs        Runs              `json:"runs"`
}

// Input is a declared input; inputs are strings, as GitHub passes them.
type Input struct {
	Description string `json:"description"`
	Required    bool   `json:"required,omitempty"`
	Default     string `json:"default,omitempty"`
}

// Output is an output of the action, an expression over its steps' outputs.
type Output struct {
	Description string `json:"description"`
	Value       string `json:"value"`
}

// Runs says how the action runs; only composite actions are run here.
type Runs struct {
	Using string `json:"using"`
	Steps []Step `json:"steps"`
}

// Step is one step of a composite action: a script (Run, with Shell) or an action (Uses).
type Step struct {
	ID               string            `json:"id,omitempty"`
	Name             string            `json:"name,omitempty"`
	If               string            `json:"if,omitempty"`
	Shell            string            `json:"shell,omitempty"`
	Run              string            `json:"run,omitempty"`
	Uses             string            `json:"uses,omitempty"`
	With             map[string]string `json:"with,omitempty"`
	Env              map[string]string `json:"env,omitempty"`
	WorkingDirectory string            `json:"working-directory,omitempty"`
}

// Title names the step in notes and results: its name, else what it runs.
func (s Step) Title() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Uses != "":
		return s.Uses
	default:
		return "Run " + strings.SplitN(strings.TrimSpace(s.Run), "\n", 2)[0]
	}
}

// Load reads and validates an action.yml.
func Load(path string) (*Action, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var a Action
	if err := yaml.UnmarshalStrict(data, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &a, nil
}

// validate refuses what the runner would not run as GitHub does, before any step runs:
// every expression is checked against the contexts it may name at its place.
func (a *Action) validate() error {
	if a.Runs.Using != "composite" {
		return fmt.Errorf("runs.using %q: only composite actions are run locally", a.Runs.Using)
	}
	defaults := refScope{inputs: a.Inputs}
	for name, in := range a.Inputs {
		if err := defaults.check(in.Default); err != nil {
			return fmt.Errorf("inputs.%s.default: %w", name, err)
		}
	}
	seen := map[string]bool{}
	for i, s := range a.Runs.Steps {
		if err := a.validateStep(s, seen); err != nil {
			return fmt.Errorf("runs.steps[%d] (%s): %w", i, s.Title(), err)
		}
		if s.ID != "" {
			seen[s.ID] = true
		}
	}
	all := refScope{inputs: a.Inputs, steps: seen}
	for name, out := range a.Outputs {
		if err := all.check(out.Value); err != nil {
			return fmt.Errorf("outputs.%s: %w", name, err)
		}
	}
	return nil
}

// validateStep checks one step; earlier holds the ids of the steps before it, the only
// ones whose outputs it can read.
func (a *Action) validateStep(s Step, earlier map[string]bool) error {
	if (s.Run == "") == (s.Uses == "") {
		return fmt.Errorf("give run or uses, one of them")
	}
	if s.Run != "" && s.Shell != "bash" {
		return fmt.Errorf("shell %q: only bash steps are run locally", s.Shell)
	}
	if s.ID != "" && earlier[s.ID] {
		return fmt.Errorf("id %q is used twice", s.ID)
	}
	if _, err := parseCondition(s.If); err != nil {
		return err
	}
	sc := refScope{inputs: a.Inputs, steps: earlier}
	fields := map[string]string{"run": s.Run, "working-directory": s.WorkingDirectory}
	for k, v := range s.Env {
		fields["env."+k] = v
	}
	for k, v := range s.With {
		fields["with."+k] = v
	}
	for field, text := range fields {
		if err := sc.check(text); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
	}
	return nil
}
