// Package addons is the corpus of real add-ons the gates are tried on: each at a real
// release, built offline from its own published Go module source (the old dependencies
// pinned by a module file of ours beside its entry, since module zips carry no vendor/),
// as the image its manifests or chart run, which are read from the Go module cache as
// they ship. What each one must do on token expiry is written in its entry, from the
// client-go source it links.
package addons

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
)

// Dir holds the corpus, relative to the repository root: corpus.json and, per add-on, its
// module files <name>/addon.mod and addon.sum.
const Dir = "fixtures/addons"

const (
	corpusFile = "corpus.json"
	// ModFile and SumFile are an add-on's go.mod and go.sum, copied as such into the
	// directory it is built in (not called go.mod, which would make its folder a module
	// of its own inside ours).
	ModFile = "addon.mod"
	SumFile = "addon.sum"
)

// Addon is one entry of the corpus.
type Addon struct {
	// Name names the entry and its folder, e.g. coredns-1.6.2.
	Name  string `json:"name"`
	Title string `json:"title"`
	// Module and Version are the add-on's published module; Package is its main package.
	Module  string `json:"module"`
	Version string `json:"version"`
	Package string `json:"package"`
	// Image is the reference the add-on's manifests or chart run; the build is tagged so.
	Image string `json:"image"`
	// Path is where the binary goes in the image (relative to /), as the add-on's own
	// Dockerfile puts it; Entrypoint and User are its image config.
	Path       string   `json:"path"`
	Entrypoint []string `json:"entrypoint"`
	User       string   `json:"user,omitempty"`
	// ClientGo is the k8s.io/client-go version the build must link (its build info is
	// checked).
	ClientGo string `json:"clientGo"`
	// Manifests or Chart: how the add-on ships (exactly one).
	Manifests *Source `json:"manifests,omitempty"`
	Chart     *Source `json:"chart,omitempty"`
	// CheckArgs are further `satoken check` flags the deployment needs, e.g. the chart's
	// release namespace.
	CheckArgs []string `json:"checkArgs,omitempty"`
	Expect    Expect   `json:"expect"`
}

// Source is a file or directory inside a published Go module: the add-on's own (its
// chart, its kustomize overlays) or the project's that ships it (Kubernetes' cluster
// add-on manifests).
type Source struct {
	Module  string `json:"module"`
	Version string `json:"version"`
	Path    string `json:"path"`
	// Substitute replaces placeholders the way the shipping project's own scripts render
	// the file before applying it (e.g. Kubernetes' $DNS_SERVER_IP).
	Substitute map[string]string `json:"substitute,omitempty"`
	// Set are a chart's --set values (e.g. the flags its README gives for kind).
	Set []string `json:"set,omitempty"`
}

// Expect is what the add-on must do on token expiry, from the client-go source it links.
type Expect struct {
	// Outcomes are the check outcomes allowed (report.Outcome values).
	Outcomes []report.Outcome `json:"outcomes"`
	// Why says, from the client-go source, what the add-on does with its token; Source
	// links the code.
	Why    string   `json:"why"`
	Source []string `json:"source"`
	// PassNeedsSecondSwitch: a pass is allowed only when the data shows the client switched
	// tokens twice (a timer re-reader's pass must rest on that).
	PassNeedsSecondSwitch bool `json:"passNeedsSecondSwitch,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// Load reads and validates the corpus under repoRoot.
func Load(repoRoot string) ([]Addon, error) {
	path := filepath.Join(repoRoot, Dir, corpusFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var all []Addon
	if err := dec.Decode(&all); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	for _, a := range all {
		if err := a.validate(repoRoot); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, a.Name, err)
		}
		if seen[a.Name] {
			return nil, fmt.Errorf("%s: %s listed twice", path, a.Name)
		}
		seen[a.Name] = true
	}
	return all, nil
}

func (a Addon) validate(repoRoot string) error {
	switch {
	case !nameRE.MatchString(a.Name):
		return fmt.Errorf("name %q: lower-case letters, digits, '.' and '-'", a.Name)
	case a.Module == "" || a.Version == "" || a.Package == "" || a.Image == "" || a.Path == "" || len(a.Entrypoint) == 0 || a.ClientGo == "":
		return fmt.Errorf("module, version, package, image, path, entrypoint and clientGo are required")
	case (a.Manifests == nil) == (a.Chart == nil):
		return fmt.Errorf("give exactly one of manifests and chart")
	case len(a.Expect.Outcomes) == 0 || a.Expect.Why == "" || len(a.Expect.Source) == 0:
		return fmt.Errorf("expect needs outcomes, why and source (the client-go code it rests on)")
	}
	for _, o := range a.Expect.Outcomes {
		if !slices.Contains([]report.Outcome{report.Passed, report.Broken, report.NotJudged}, o) {
			return fmt.Errorf("expect: outcome %q is not passed, broken or not judged", o)
		}
	}
	for _, f := range []string{ModFile, SumFile} {
		if _, err := os.Stat(filepath.Join(repoRoot, Dir, a.Name, f)); err != nil {
			return err
		}
	}
	return nil
}

// Select picks add-ons by name ("all" for every one).
func Select(all []Addon, spec string) ([]Addon, error) {
	if strings.TrimSpace(spec) == "all" {
		return all, nil
	}
	var out []Addon
	for _, n := range strings.Split(spec, ",") {
		i := slices.IndexFunc(all, func(a Addon) bool { return a.Name == strings.TrimSpace(n) })
		if i < 0 {
			var names []string
			for _, a := range all {
				names = append(names, a.Name)
			}
			return nil, fmt.Errorf("unknown add-on %q; known: all, %s", n, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}
