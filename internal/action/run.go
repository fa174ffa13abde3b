package action

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// interruptGrace is how long a step stopped by a cancelled context has to clean up
// (satoken deletes its cluster) before the runner stops waiting for it.
const interruptGrace = 3 * time.Minute

// RunInput says which action to run with what, and where.
type RunInput struct {
	// Action is the path of action.yml; its directory is GITHUB_ACTION_PATH.
	Action string
	// Inputs are the with: of the workflow step that uses the action.
	Inputs map[string]string
	// Workdir is the workspace: GITHUB_WORKSPACE, where steps run and relative paths start.
	Workdir string
	// Env is set for every step over this process's environment (and over the runner's
	// variables such as CI), like a job's env:.
	Env map[string]string
	// Artifacts is where upload-artifact steps copy to, a directory per artifact name
	// (default: <Workdir>/action-artifacts).
	Artifacts string
	// Ref is github.action_ref, the ref the action was used at; empty, as for an action
	// used from a path (uses: ./).
	Ref string
	// Stdout and Stderr get the steps' output and the runner's notes (default: os's).
	Stdout, Stderr io.Writer
}

// StepResult is how one step went.
type StepResult struct {
	Title string
	ID    string
	// Ran is false for a step whose if: did not hold and for a uses: step not run here.
	Ran bool
	// Note says why a step did not run, or what was emulated.
	Note string
	// ExitCode is the script's exit code (128+n when killed by signal n; 1 for a failed
	// emulation or a malformed GITHUB_OUTPUT/GITHUB_ENV); 0 for a step that did not run.
	ExitCode int
	Outputs  map[string]string
	Duration time.Duration
}

// Failed says whether the step ran and failed.
func (s StepResult) Failed() bool { return s.Ran && s.ExitCode != 0 }

// Result is how the action went.
type Result struct {
	Steps []StepResult
	// Outputs are the action's outputs, evaluated after the last step.
	Outputs map[string]string
	// Summary is what the steps wrote to GITHUB_STEP_SUMMARY, in order: the job summary.
	Summary string
	// Cancelled is true when the context was cancelled during the run.
	Cancelled bool
}

// ExitCode is the exit code of the first failed step, 0 when none failed: the failure that
// caused the others.
func (r *Result) ExitCode() int {
	for _, s := range r.Steps {
		if s.Failed() {
			return s.ExitCode
		}
	}
	return 0
}

// Run runs the action's steps in order as GitHub's runner would. A step's failure is in
// the result (the later steps run or not by their if:); the error is for what stops the
// runner itself: an action or inputs it cannot run, or a step it cannot start.
func Run(ctx context.Context, in RunInput) (*Result, error) {
	a, err := Load(in.Action)
	if err != nil {
		return nil, err
	}
	r, err := newRunner(a, in)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(r.temp)
	for i, s := range a.Runs.Steps {
		sr, err := r.step(ctx, i, s)
		if err != nil {
			return r.res, fmt.Errorf("step %q: %w", s.Title(), err)
		}
		r.res.Steps = append(r.res.Steps, sr)
		r.failed = r.failed || sr.Failed()
	}
	r.res.Cancelled = ctx.Err() != nil
	for name, out := range a.Outputs {
		if r.res.Outputs[name], err = r.vals.expand(out.Value); err != nil {
			return r.res, fmt.Errorf("outputs.%s: %w", name, err)
		}
	}
	return r.res, nil
}

// runner is one run's state: what the steps so far produced.
type runner struct {
	in     RunInput
	vals   values
	env    map[string]string // the job's environment plus what GITHUB_ENV set so far
	paths  []string          // GITHUB_PATH entries so far, newest first
	temp   string
	failed bool
	res    *Result
}

func newRunner(a *Action, in RunInput) (*runner, error) {
	if in.Stdout == nil {
		in.Stdout = os.Stdout
	}
	if in.Stderr == nil {
		in.Stderr = os.Stderr
	}
	var err error
	if in.Workdir, err = filepath.Abs(in.Workdir); err != nil {
		return nil, err
	}
	if in.Artifacts == "" {
		in.Artifacts = filepath.Join(in.Workdir, "action-artifacts")
	}
	actionPath, err := filepath.Abs(filepath.Dir(in.Action))
	if err != nil {
		return nil, err
	}
	temp, err := os.MkdirTemp("", "action-local-")
	if err != nil {
		return nil, err
	}
	runnerTemp := filepath.Join(temp, "runner-temp")
	if err := os.Mkdir(runnerTemp, 0o755); err != nil {
		os.RemoveAll(temp)
		return nil, err
	}
	r := &runner{in: in, temp: temp, res: &Result{Outputs: map[string]string{}}}
	r.vals = values{
		steps:  map[string]map[string]string{},
		github: map[string]string{"workspace": in.Workdir, "action_path": actionPath, "action_ref": in.Ref},
		runner: map[string]string{"temp": runnerTemp, "os": "Linux"},
	}
	if r.vals.inputs, err = a.resolveInputs(in.Inputs, r.vals); err != nil {
		os.RemoveAll(temp)
		return nil, err
	}
	r.env = environ()
	maps.Copy(r.env, map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux", "RUNNER_TEMP": runnerTemp,
		"GITHUB_WORKSPACE": in.Workdir, "GITHUB_ACTION_PATH": actionPath,
	})
	maps.Copy(r.env, in.Env)
	return r, nil
}

// resolveInputs gives every declared input its value: the one given, else its default.
func (a *Action) resolveInputs(given map[string]string, v values) (map[string]string, error) {
	for name := range given {
		if _, ok := a.Inputs[name]; !ok {
			return nil, fmt.Errorf("input %q is not declared by the action (it has %s)", name, strings.Join(slices.Sorted(maps.Keys(a.Inputs)), ", "))
		}
	}
	out := map[string]string{}
	for name, in := range a.Inputs {
		val, ok := given[name]
		if !ok {
			var err error
			if val, err = v.expand(in.Default); err != nil {
				return nil, fmt.Errorf("inputs.%s.default: %w", name, err)
			}
		}
		if in.Required && val == "" {
			return nil, fmt.Errorf("input %q is required", name)
		}
		out[name] = val
	}
	return out, nil
}

// step runs step i if its if: holds. After a cancellation only the steps whose if: still
// holds run, to their end (always(): reports written, artifacts kept), as on GitHub.
func (r *runner) step(ctx context.Context, i int, s Step) (StepResult, error) {
	sr := StepResult{Title: s.Title(), ID: s.ID}
	cond, err := parseCondition(s.If)
	if err != nil {
		return sr, err
	}
	cancelled := ctx.Err() != nil
	if !cond.holds(r.failed, cancelled) {
		sr.Note = fmt.Sprintf("skipped: if: %s does not hold", cond)
		r.notef("--- %s (%s)", sr.Title, sr.Note)
		return sr, nil
	}
	if cancelled {
		ctx = context.WithoutCancel(ctx)
	}
	r.notef("==> %s", sr.Title)
	start := time.Now()
	if s.Uses != "" {
		err = r.uses(s, &sr)
	} else {
		err = r.run(ctx, i, s, &sr)
	}
	sr.Duration = time.Since(start).Round(time.Millisecond)
	if err != nil {
		return sr, err
	}
	if sr.Failed() {
		r.notef("<== %s failed: exit %d (%s) %s", sr.Title, sr.ExitCode, sr.Duration, sr.Note)
	}
	return sr, nil
}

// run runs a bash step the way the runner does (bash --noprofile --norc -eo pipefail on a
// file holding the script), in its own process group so that a cancellation reaches every
// process of the step, then reads the file commands it wrote. Cancelling sends SIGTERM,
// not GitHub's SIGINT: processes started from a non-interactive shell's background job
// ignore SIGINT, so it may stop nothing, and satoken takes SIGTERM as it takes Ctrl-C
// (it cleans up; interruptGrace bounds the wait for that).
func (r *runner) run(ctx context.Context, i int, s Step, sr *StepResult) error {
	dir := filepath.Join(r.temp, fmt.Sprintf("step-%d", i))
	files, err := stepFiles(dir)
	if err != nil {
		return err
	}
	script, err := r.vals.expand(s.Run)
	if err != nil {
		return err
	}
	scriptPath := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		return err
	}
	env, err := r.stepEnv(s, files)
	if err != nil {
		return err
	}
	wd, err := r.vals.expand(s.WorkingDirectory)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(wd) {
		wd = filepath.Join(r.in.Workdir, wd)
	}
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", scriptPath)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = wd, env, r.in.Stdout, r.in.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = interruptGrace
	sr.Ran = true
	if sr.ExitCode, err = exitCode(cmd, cmd.Run()); err != nil {
		return err
	}
	return r.readFileCommands(s, files, sr)
}

// exitCode is the exit code of a command that ran (128+n when signal n ended it, the shell
// convention), whatever else Wait reported (a cancelled context, output still held open);
// the error is for a command that did not start.
func exitCode(cmd *exec.Cmd, err error) (int, error) {
	ps := cmd.ProcessState
	if ps == nil {
		return 0, err
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ps.ExitCode(), nil
}

// The files a step's script writes its commands to, by the variable naming each.
const (
	fileOutput  = "GITHUB_OUTPUT"
	fileEnv     = "GITHUB_ENV"
	filePath    = "GITHUB_PATH"
	fileSummary = "GITHUB_STEP_SUMMARY"
)

// stepFiles creates a step's empty file-command files in dir.
func stepFiles(dir string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{}
	for _, name := range []string{fileOutput, fileEnv, filePath, fileSummary} {
		files[name] = filepath.Join(dir, strings.ToLower(name))
		if err := os.WriteFile(files[name], nil, 0o644); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// stepEnv is the environment of a step: the job's, what GITHUB_ENV set, PATH with what
// GITHUB_PATH added in front, the step's env:, and the step's file-command files.
func (r *runner) stepEnv(s Step, files map[string]string) ([]string, error) {
	env := maps.Clone(r.env)
	if len(r.paths) > 0 {
		env["PATH"] = strings.Join(append(slices.Clone(r.paths), env["PATH"]), string(os.PathListSeparator))
	}
	for k, v := range s.Env {
		val, err := r.vals.expand(v)
		if err != nil {
			return nil, fmt.Errorf("env.%s: %w", k, err)
		}
		env[k] = val
	}
	maps.Copy(env, files)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

// readFileCommands takes in what the step wrote: its outputs, environment and PATH for the
// later steps, its part of the job summary. A malformed file fails the step, as on GitHub.
func (r *runner) readFileCommands(s Step, files map[string]string, sr *StepResult) error {
	outputs, err := readFileCommand(files[fileOutput])
	if err == nil {
		var env map[string]string
		if env, err = readFileCommand(files[fileEnv]); err == nil {
			maps.Copy(r.env, env)
		}
	}
	if err != nil {
		sr.Note = "malformed file command: " + err.Error()
		sr.ExitCode = max(sr.ExitCode, 1)
		return nil
	}
	sr.Outputs = outputs
	if s.ID != "" {
		r.vals.steps[s.ID] = outputs
	}
	paths, err := os.ReadFile(files[filePath])
	if err != nil {
		return err
	}
	for _, p := range strings.Split(strings.TrimSpace(string(paths)), "\n") {
		if p = strings.TrimSpace(p); p != "" {
			r.paths = append([]string{p}, r.paths...)
		}
	}
	summary, err := os.ReadFile(files[fileSummary])
	r.res.Summary += string(summary)
	return err
}

// uses runs a uses: step: upload-artifact as a copy, any other action not at all (the
// machine's own tools stand in for actions such as setup-go).
func (r *runner) uses(s Step, sr *StepResult) error {
	if !strings.HasPrefix(s.Uses, "actions/upload-artifact@") {
		sr.Note = "not run locally: uses: " + s.Uses
		r.notef("    %s", sr.Note)
		return nil
	}
	with := map[string]string{}
	for k, v := range s.With {
		val, err := r.vals.expand(v)
		if err != nil {
			return fmt.Errorf("with.%s: %w", k, err)
		}
		with[k] = val
	}
	sr.Ran = true
	note, err := r.upload(with)
	sr.Note = note
	if err != nil {
		sr.Note, sr.ExitCode = err.Error(), 1
	}
	r.notef("    %s", sr.Note)
	return nil
}

func (r *runner) notef(format string, args ...any) {
	fmt.Fprintf(r.in.Stdout, format+"\n", args...)
}

// environ is this process's environment as a map.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
