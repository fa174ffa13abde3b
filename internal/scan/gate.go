package scan

import (
	"fmt"
	"strings"

	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// Outcome sorts judged findings for a gate: broken are the binaries and client-node
// packages (predicted to be) FAILS_AFTER_EXPIRY or INTERMITTENT, unjudged those that link
// client-go (or are client-node) without a prediction (an unplaceable version, a local
// replace, functions that fit no measured version). A prediction over several Kubernetes
// minors counts by its worst (see byMinor), and each message names the minors it holds
// on. A gate passes only when both are empty: passing what it could not judge would pass
// the very binaries it exists for.
func Outcome(findings []Finding) (broken, unjudged []string) {
	for _, f := range findings {
		if f.ClientGo == nil {
			continue
		}
		name := strings.TrimSpace(f.Target + " " + f.File)
		if v := f.ClientGoVersion(); v != "" {
			name += " " + v
		}
		switch p := f.Prediction; {
		case p == nil || p.Verdict == "" || p.Verdict == verdict.NotJudged:
			lib := "client-go"
			if f.IsClientNode() {
				lib = ClientNodePackage
			}
			where := ""
			if p != nil {
				where = p.where(verdict.NotJudged)
			}
			unjudged = append(unjudged, name+": "+lib+" found, no verdict can be predicted"+where)
		case p.Verdict == verdict.FailsAfterExpiry || p.Verdict == verdict.Intermittent:
			broken = append(broken, fmt.Sprintf("%s: %s%s", name, p.Verdict, p.where(p.Verdict)))
		}
	}
	return broken, unjudged
}
