package action

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeAction writes an action.yml into a fresh directory and returns its path and a
// workspace beside it.
func writeAction(t *testing.T, yml string) (action, workdir string) {
	t.Helper()
	dir := t.TempDir()
	action = filepath.Join(dir, "action", "action.yml")
	workdir = filepath.Join(dir, "work")
	require.NoError(t, os.MkdirAll(filepath.Dir(action), 0o755))
	require.NoError(t, os.MkdirAll(workdir, 0o755))
	require.NoError(t, os.WriteFile(action, []byte(yml), 0o644))
	return action, workdir
}

func runAction(t *testing.T, in RunInput) (*Result, string) {
	t.Helper()
	var out bytes.Buffer
	in.Stdout, in.Stderr = &out, &out
	res, err := Run(context.Background(), in)
	require.NoError(t, err, out.String())
	return res, out.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

// The first step hands the second everything a step can hand on: outputs (one line and
// multi-line), an env variable, a PATH entry; both add to the job summary. The first
// step's own env: must not leak into the second.
const handOnAction = `name: fake
description: hands values from step to step
inputs:
  greeting: {description: d, default: hello}
  who: {description: d, required: true}
  out: {description: d, default: "${{ github.workspace }}/out"}
outputs:
  said: {description: d, value: "${{ steps.first.outputs.said }}"}
runs:
  using: composite
  steps:
    - id: first
      shell: bash
      env: {GREETING: "${{ inputs.greeting }}", WHO: "${{ inputs.who }}"}
      run: |
        echo first >> order
        echo "said=$GREETING $WHO" >> "$GITHUB_OUTPUT"
        printf 'multi<<EOF\nline1\nx=y<<z\nEOF\n' >> "$GITHUB_OUTPUT"
        echo "FROM_FIRST=carried" >> "$GITHUB_ENV"
        mkdir -p "$RUNNER_TEMP/bin"
        printf '#!/bin/sh\necho tool-ran\n' > "$RUNNER_TEMP/bin/mytool"
        chmod +x "$RUNNER_TEMP/bin/mytool"
        echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
        echo "# first" >> "$GITHUB_STEP_SUMMARY"
    - uses: actions/setup-go@v6
      with: {go-version: "1.26"}
    - id: second
      shell: bash
      env:
        SAID: "${{ steps.first.outputs.said }}"
        MULTI: "${{ steps.first.outputs.multi }}"
        OUT: "${{ inputs.out }}"
      run: |
        echo second >> order
        { echo "$SAID"; echo "$MULTI"; echo "$FROM_FIRST"; mytool; echo "$OUT"; echo "$JOB_VAR"; echo "${GREETING:-unset}"; echo "$CI"; } > seen
        echo "## second" >> "$GITHUB_STEP_SUMMARY"
`

func TestRunHandsOnBetweenSteps(t *testing.T) {
	action, work := writeAction(t, handOnAction)
	res, log := runAction(t, RunInput{Action: action, Workdir: work, Inputs: map[string]string{"who": "world"}, Env: map[string]string{"JOB_VAR": "job"}})

	require.Equal(t, 0, res.ExitCode(), log)
	assert.Equal(t, "first\nsecond\n", readFile(t, filepath.Join(work, "order")))
	want := []string{"hello world", "line1", "x=y<<z", "carried", "tool-ran", filepath.Join(work, "out"), "job", "unset", "true"}
	assert.Equal(t, strings.Join(want, "\n")+"\n", readFile(t, filepath.Join(work, "seen")))
	assert.Equal(t, "# first\n## second\n", res.Summary)
	assert.Equal(t, map[string]string{"said": "hello world"}, res.Outputs)
	require.Len(t, res.Steps, 3)
	assert.False(t, res.Steps[1].Ran)
	assert.Contains(t, res.Steps[1].Note, "not run locally: uses: actions/setup-go@v6")
	assert.Equal(t, "line1\nx=y<<z", res.Steps[0].Outputs["multi"])
}

// A step fails with a given exit code: the steps after it run by their if: only, the
// upload still happens, and the result's exit code is the failed step's.
const failingAction = `name: fake
description: fails
runs:
  using: composite
  steps:
    - name: a
      shell: bash
      run: |
        echo a >> order
        mkdir -p out && echo report > out/report.md
        exit "$FAIL_WITH"
    - name: b
      shell: bash
      run: echo b >> order
    - name: c
      if: always()
      shell: bash
      run: echo c >> order
    - name: d
      if: ${{ failure() }}
      shell: bash
      run: echo d >> order; exit 7
    - name: upload
      if: always()
      uses: actions/upload-artifact@v7
      with: {name: rep, path: out}
`

func TestRunFailurePolicy(t *testing.T) {
	for _, tc := range []struct {
		exit      string
		wantOrder string
		wantExit  int
	}{
		{"0", "a\nb\nc\n", 0},
		{"3", "a\nc\nd\n", 3},
		{"4", "a\nc\nd\n", 4},
		{"1", "a\nc\nd\n", 1},
	} {
		t.Run("exit "+tc.exit, func(t *testing.T) {
			action, work := writeAction(t, failingAction)
			arts := filepath.Join(t.TempDir(), "artifacts")
			res, log := runAction(t, RunInput{Action: action, Workdir: work, Artifacts: arts, Env: map[string]string{"FAIL_WITH": tc.exit}})

			assert.Equal(t, tc.wantOrder, readFile(t, filepath.Join(work, "order")), log)
			assert.Equal(t, tc.wantExit, res.ExitCode(), "the first failure decides, not d's exit 7")
			assert.Equal(t, tc.exit != "0", res.Steps[3].Failed(), "d runs (and fails) only after a failure")
			assert.False(t, res.Steps[1].Ran == (tc.exit != "0"), "b runs only without a failure")
			assert.Equal(t, "report\n", readFile(t, filepath.Join(arts, "rep", "report.md")))
		})
	}
}

func TestRunUploadEmulation(t *testing.T) {
	const tmpl = `name: fake
description: uploads
runs:
  using: composite
  steps:
    - uses: actions/upload-artifact@v7
      with: {name: arts, path: "PATH", if-no-files-found: "IFNONE"}
`
	for _, tc := range []struct {
		name, path, ifNone string
		wantFail           bool
		wantFiles          []string
		wantNote           string
	}{
		{name: "a directory's contents at the top", path: "out", wantFiles: []string{"report.md", "sub/deep.txt", "link.md"}},
		{name: "a file by its name", path: "out/sub/deep.txt", wantFiles: []string{"deep.txt"}},
		{name: "a glob", path: "out/*.md", wantFiles: []string{"report.md", "link.md"}},
		{name: "nothing found warns", path: "missing", wantNote: "warning: "},
		{name: "nothing found with error fails", path: "missing", ifNone: "error", wantFail: true, wantNote: "no files found"},
		{name: "exclusions are refused", path: "!out", wantFail: true, wantNote: "exclusions are not emulated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			action, work := writeAction(t, strings.NewReplacer("PATH", tc.path, "IFNONE", tc.ifNone).Replace(tmpl))
			require.NoError(t, os.MkdirAll(filepath.Join(work, "out", "sub"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(work, "out", "report.md"), []byte("r"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(work, "out", "sub", "deep.txt"), []byte("d"), 0o644))
			require.NoError(t, os.Symlink("report.md", filepath.Join(work, "out", "link.md")))
			arts := filepath.Join(t.TempDir(), "artifacts")
			// A previous local run's copy is replaced, not mixed with.
			require.NoError(t, os.MkdirAll(filepath.Join(arts, "arts"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(arts, "arts", "stale"), nil, 0o644))

			res, _ := runAction(t, RunInput{Action: action, Workdir: work, Artifacts: arts})

			step := res.Steps[0]
			assert.Equal(t, tc.wantFail, step.Failed(), step.Note)
			assert.Contains(t, step.Note, tc.wantNote)
			for _, f := range tc.wantFiles {
				assert.FileExists(t, filepath.Join(arts, "arts", f))
			}
			if len(tc.wantFiles) > 0 {
				assert.NoFileExists(t, filepath.Join(arts, "arts", "stale"))
			}
		})
	}
}

// A script that exits 0 but writes a GITHUB_OUTPUT the runner cannot read fails, as on
// GitHub: its outputs would be lost silently otherwise.
func TestRunMalformedFileCommandFails(t *testing.T) {
	action, work := writeAction(t, `name: fake
description: bad output
runs:
  using: composite
  steps:
    - shell: bash
      run: printf 'multi<<EOF\nnever closed\n' >> "$GITHUB_OUTPUT"
`)
	res, _ := runAction(t, RunInput{Action: action, Workdir: work})
	assert.Equal(t, 1, res.ExitCode())
	assert.Contains(t, res.Steps[0].Note, "never closed")
}

// Cancelled in the middle of a step: the step's processes get SIGTERM (exit 143), the
// steps after it run only if their if: holds after a cancellation, and those run to
// their end.
func TestRunCancelled(t *testing.T) {
	action, work := writeAction(t, `name: fake
description: cancelled
runs:
  using: composite
  steps:
    - shell: bash
      run: touch started; sleep 30
    - shell: bash
      run: echo success >> order
    - if: always()
      shell: bash
      run: sleep 0.2; echo always >> order
    - if: "!cancelled()"
      shell: bash
      run: echo not-cancelled >> order
`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(work, "started")); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var out bytes.Buffer
	start := time.Now()
	res, err := Run(ctx, RunInput{Action: action, Workdir: work, Stdout: &out, Stderr: &out})
	require.NoError(t, err, out.String())
	assert.Less(t, time.Since(start), 10*time.Second, "the sleep was interrupted")
	assert.True(t, res.Cancelled)
	assert.Equal(t, 143, res.ExitCode())
	assert.Equal(t, "always\n", readFile(t, filepath.Join(work, "order")))
}

func TestRunRefusesBadInputs(t *testing.T) {
	action, work := writeAction(t, handOnAction)
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"required input missing", map[string]string{}, `input "who" is required`},
		{"required input empty", map[string]string{"who": ""}, `input "who" is required`},
		{"undeclared input", map[string]string{"who": "x", "gretting": "hi"}, `input "gretting" is not declared by the action (it has greeting, out, who)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), RunInput{Action: action, Workdir: work, Inputs: tc.inputs, Stdout: &bytes.Buffer{}})
			require.ErrorContains(t, err, tc.want)
			assert.NoFileExists(t, filepath.Join(work, "order"), "no step ran")
		})
	}
}

// What the runner would not run as GitHub does is refused when the action is loaded, not
// evaluated to something else (an unsupported expression read as empty would pass an
// empty input silently).
func TestLoadRefuses(t *testing.T) {
	const head = "name: n\ndescription: d\ninputs:\n  a: {description: d}\nruns:\n  using: composite\n  steps:\n"
	for _, tc := range []struct {
		name, steps, want string
	}{
		{"a comparison", `    - {shell: bash, run: "echo ${{ inputs.a == 'x' }}"}`, "only a value such as inputs.name"},
		{"an undeclared input", `    - {shell: bash, run: "echo", env: {X: "${{ inputs.b }}"}}`, `no input "b" is declared`},
		{"a later step's output", "    - {shell: bash, run: \"echo ${{ steps.later.outputs.x }}\"}\n    - {id: later, shell: bash, run: echo}", `no step with id "later" runs before this one`},
		{"an unknown step", `    - {shell: bash, run: "echo ${{ steps.nope.outputs.x }}"}`, `no step with id "nope"`},
		{"github.token", `    - {shell: bash, run: "echo ${{ github.token }}"}`, "not emulated locally"},
		{"an expression in if", `    - {if: "inputs.a == 'x'", shell: bash, run: echo}`, "only success(), always()"},
		{"an unclosed expression", `    - {shell: bash, run: "echo ${{ inputs.a"}`, "unclosed ${{"},
		{"another shell", `    - {shell: sh, run: echo}`, `shell "sh": only bash`},
		{"run and uses", `    - {shell: bash, run: echo, uses: actions/checkout@v6}`, "give run or uses"},
		{"a duplicate id", "    - {id: x, shell: bash, run: echo}\n    - {id: x, shell: bash, run: echo}", `id "x" is used twice`},
		{"a misspelled key", `    - {shell: bash, run: echo, enviroment: {}}`, `unknown field "enviroment"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			action, _ := writeAction(t, head+tc.steps+"\n")
			_, err := Load(action)
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("a node action", func(t *testing.T) {
		action, _ := writeAction(t, "name: n\ndescription: d\nruns:\n  using: node24\n")
		_, err := Load(action)
		require.ErrorContains(t, err, `runs.using "node24": only composite actions`)
	})
}

func TestReadFileCommand(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          map[string]string
		wantErr       string
	}{
		{name: "lines, a later value wins", content: "a=1\nb=x=y\na=2\n", want: map[string]string{"a": "2", "b": "x=y"}},
		{name: "a block", content: "m<<END\none\n\ntwo\nEND\nn=3\n", want: map[string]string{"m": "one\n\ntwo", "n": "3"}},
		{name: "an empty value", content: "e=\n", want: map[string]string{"e": ""}},
		{name: "CRLF", content: "a=1\r\n", want: map[string]string{"a": "1"}},
		{name: "a value holding <<", content: "a=b<<c\n", want: map[string]string{"a": "b<<c"}},
		{name: "an unclosed block", content: "m<<END\none\n", wantErr: "never closed"},
		{name: "a bare word", content: "oops\n", wantErr: "neither name=value"},
		{name: "no name", content: "=v\n", wantErr: "neither name=value"},
		{name: "no delimiter", content: "m<<\n", wantErr: "no delimiter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o644))
			got, err := readFileCommand(path)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
