package action

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// A reference is the one kind of ${{ }} expression emulated: a dotted path naming a value.
var referenceRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$`)

// The github and runner properties the runner provides here; any other is refused, not
// read as empty.
var (
	githubKeys = []string{"workspace", "action_path", "action_ref"}
	runnerKeys = []string{"temp", "os"}
)

// replace returns text with each ${{ }} replaced by what fn returns for the expression
// inside (trimmed); fn's first error stops it.
func replace(text string, fn func(ref string) (string, error)) (string, error) {
	var b strings.Builder
	for {
		start := strings.Index(text, "${{")
		if start < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		end := strings.Index(text[start:], "}}")
		if end < 0 {
			return "", fmt.Errorf("unclosed ${{ in %q", text)
		}
		val, err := fn(strings.TrimSpace(text[start+3 : start+end]))
		if err != nil {
			return "", err
		}
		b.WriteString(text[:start])
		b.WriteString(val)
		text = text[start+end+2:]
	}
}

// refScope is what an expression may name at its place: the declared inputs and the ids
// of the steps before it.
type refScope struct {
	inputs map[string]Input
	steps  map[string]bool
}

// check refuses an expression in text that the runner would not evaluate as GitHub does.
func (sc refScope) check(text string) error {
	_, err := replace(text, func(ref string) (string, error) { return "", sc.checkRef(ref) })
	return err
}

func (sc refScope) checkRef(ref string) error {
	if !referenceRE.MatchString(ref) {
		return fmt.Errorf("${{ %s }}: only a value such as inputs.name or steps.id.outputs.name is evaluated locally", ref)
	}
	p := strings.Split(ref, ".")
	switch {
	case p[0] == "inputs" && len(p) == 2:
		if _, ok := sc.inputs[p[1]]; !ok {
			return fmt.Errorf("${{ %s }}: no input %q is declared", ref, p[1])
		}
	case p[0] == "steps" && len(p) == 4 && p[2] == "outputs":
		if !sc.steps[p[1]] {
			return fmt.Errorf("${{ %s }}: no step with id %q runs before this one", ref, p[1])
		}
	case p[0] == "github" && len(p) == 2 && slices.Contains(githubKeys, p[1]):
	case p[0] == "runner" && len(p) == 2 && slices.Contains(runnerKeys, p[1]):
	default:
		return fmt.Errorf("${{ %s }}: not emulated locally (inputs.*, steps.*.outputs.*, github.%s, runner.%s are)",
			ref, strings.Join(githubKeys, "|"), strings.Join(runnerKeys, "|"))
	}
	return nil
}

// values are what expressions evaluate to while the action runs.
type values struct {
	inputs map[string]string
	steps  map[string]map[string]string // step id → its outputs so far
	github map[string]string
	runner map[string]string
}

// expand replaces each ${{ }} of text by its value. The expressions were checked when the
// action was loaded; an output a step did not set is empty, as on GitHub.
func (v values) expand(text string) (string, error) {
	return replace(text, func(ref string) (string, error) { return v.lookup(ref), nil })
}

func (v values) lookup(ref string) string {
	p := strings.Split(ref, ".")
	switch p[0] {
	case "inputs":
		return v.inputs[p[1]]
	case "steps":
		return v.steps[p[1]][p[3]]
	case "github":
		return v.github[p[1]]
	default:
		return v.runner[p[1]]
	}
}

// condition is an if: of a step: one status function.
type condition string

const (
	condSuccess      condition = "success()"
	condAlways       condition = "always()"
	condFailure      condition = "failure()"
	condCancelled    condition = "cancelled()"
	condNotCancelled condition = "!cancelled()"
)

// parseCondition reads an if: (bare or inside ${{ }}); empty means success(), as on GitHub.
func parseCondition(s string) (condition, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "${{") && strings.HasSuffix(s, "}}") {
		s = strings.TrimSpace(s[3 : len(s)-2])
	}
	if s == "" {
		return condSuccess, nil
	}
	c := condition(strings.ReplaceAll(s, " ", ""))
	if !slices.Contains([]condition{condSuccess, condAlways, condFailure, condCancelled, condNotCancelled}, c) {
		return "", fmt.Errorf("if: %q: only success(), always(), failure(), cancelled() or !cancelled() is evaluated locally", s)
	}
	return c, nil
}

// holds says whether a step with this condition runs, given how the steps before it went.
func (c condition) holds(failed, cancelled bool) bool {
	switch c {
	case condAlways:
		return true
	case condFailure:
		return failed && !cancelled
	case condCancelled:
		return cancelled
	case condNotCancelled:
		return !cancelled
	default:
		return !failed && !cancelled
	}
}
