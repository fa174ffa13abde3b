package report

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// JUnit renders one test case per result. A case fails when its verdict misses an
// expectation, or — without expectations — when the harness could not draw a verdict
// (NOT_JUDGED), or, for `satoken check`, when the workload broke. A harness error adds a
// failed case of its own.
func (r *Report) JUnit() []byte {
	s := junitSuite{Name: "satoken " + r.Command + " " + strings.Join(r.Versions(), ","), Time: r.FinishedAt.Sub(r.StartedAt).Seconds()}
	if r.Accelerated() {
		s.Name += fmt.Sprintf(" (accelerated control plane, token TTL %ds)", r.TTLSeconds)
	}
	matrix := r.matrix()
	for _, res := range r.Results {
		name := res.Name()
		if matrix {
			name += " on " + res.On()
		}
		c := junitCase{Name: fmt.Sprintf("%s %s", name, res.Verdict), Classname: "satoken." + r.Command, SystemOut: res.Reason}
		e, expected := r.expectationOf(res)
		switch {
		case expected && !e.Met:
			c.Failure = &junitFailure{Message: fmt.Sprintf("expected %s, measured %s", e.Want, e.Got), Text: res.Reason}
		case !expected && res.Verdict == verdict.NotJudged:
			c.Failure = &junitFailure{Message: "not judged: the data cannot decide", Text: res.Reason + "; " + res.Hint}
		case r.Command == "check" && res.Broken():
			c.Failure = &junitFailure{Message: fmt.Sprintf("workload broke: %s", res.Verdict), Text: res.Reason}
		}
		if c.Failure != nil {
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	if r.Error != "" {
		// A run that ended early is a failed run, whatever the cases say.
		s.Cases = append(s.Cases, junitCase{Name: "harness", Classname: "satoken." + r.Command,
			Failure: &junitFailure{Message: "the run ended early, verdicts are incomplete", Text: r.Error}})
		s.Failures++
	}
	s.Tests = len(s.Cases)
	out, _ := xml.MarshalIndent(s, "", "  ")
	return append([]byte(xml.Header), append(out, '\n')...)
}

// expectationOf is the --expect entry for a result: its client's, on its version (an
// entry naming no version holds on every one).
func (r *Report) expectationOf(res Result) (Expectation, bool) {
	for _, e := range r.Expectations {
		if e.ClientGo == res.Name() && (e.K8sVersion == "" || e.K8sVersion == res.K8sVersion) {
			return e, true
		}
	}
	return Expectation{}, false
}
