package action_test

import (
	"context"
	"fmt"

	"github.com/satoken-e2e/satoken-e2e/internal/action"
)

// An e2e test runs the repository's action.yml on an add-on's checkout with a satoken it
// built, on a cluster name of its own, and asserts on the steps and outputs.
func ExampleRun() {
	res, err := action.Run(context.Background(), action.RunInput{
		Action:  "action.yml",
		Workdir: "/tmp/addon",
		Inputs: map[string]string{
			"manifests":   "deploy",
			"images":      "addon:e2e",
			"node-image":  "build",
			"satoken-bin": "/tmp/satoken-e2e-cli/satoken",
			"check-args":  "--cluster satoken-action-e2e",
		},
		Env:       map[string]string{"ARTIFACTS": "/tmp/artifacts"},
		Artifacts: "/tmp/artifacts/action",
	})
	if err != nil {
		panic(err) // the runner could not run the action at all
	}
	fmt.Println(res.Outputs["outcome"], res.ExitCode())
	for _, s := range res.Steps {
		fmt.Println(s.Title, s.Ran, s.ExitCode, s.Note)
	}
}
