package gates

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
)

// API check IDs.
const (
	CheckAPIsRemoved    = "apis/removed"
	CheckAPIsDeprecated = "apis/deprecated"
)

var apisChecks = []Check{
	{ID: CheckAPIsRemoved, Severity: Error, Title: "API version removed in the target Kubernetes version",
		Why: "The API server no longer serves the version: applying the object fails, and an upgrade of the cluster breaks the environment.",
		Fix: "Change apiVersion to the replacement named in the finding and migrate the fields that changed."},
	{ID: CheckAPIsDeprecated, Severity: Warning, Title: "API version deprecated in the target Kubernetes version",
		Why: "The version still works but is scheduled for removal; migrating now avoids a failed upgrade later.",
		Fix: "Change apiVersion to the replacement named in the finding."},
}

// apisGate reports API versions the target Kubernetes version no longer serves, or deprecates.
type apisGate struct {
	version          string // from the config; Input.KubernetesVersion when empty
	failOnDeprecated bool
}

func newAPIs(c config.APIsGate) Gate {
	return apisGate{version: c.KubernetesVersion, failOnDeprecated: c.FailOnDeprecated}
}

func (apisGate) Name() string    { return "apis" }
func (apisGate) Checks() []Check { return apisChecks }

func (g apisGate) Evaluate(in Input) Result {
	version := g.version
	if version == "" {
		version = in.KubernetesVersion
	}
	target, ok := parseMinor(version)
	assumed := ""
	if !ok {
		target = newestKnownMinor
		assumed = fmt.Sprintf(" (no Kubernetes version given: assuming 1.%d)", target)
	}
	var findings []Finding
	for _, o := range in.Objects {
		gv, kind := o.APIVersion(), o.Kind()
		a, found := apiLifecycle[apiKey{gv, kind}]
		if !found {
			continue
		}
		switch {
		case a.removed != 0 && target >= a.removed:
			findings = append(findings, Finding{
				Check: CheckAPIsRemoved, Severity: Error, Object: Ref(o), Path: "apiVersion",
				Message: fmt.Sprintf("%s %s is not served since Kubernetes 1.%d; the target is 1.%d%s", gv, kind, a.removed, target, assumed),
				Fix:     a.fix(),
			})
		case a.deprecated != 0 && target >= a.deprecated:
			sev := Warning
			if g.failOnDeprecated {
				sev = Error
			}
			when := "removal not scheduled"
			if a.removed != 0 {
				when = fmt.Sprintf("removed in 1.%d", a.removed)
			}
			findings = append(findings, Finding{
				Check: CheckAPIsDeprecated, Severity: sev, Object: Ref(o), Path: "apiVersion",
				Message: fmt.Sprintf("%s %s is deprecated since Kubernetes 1.%d (%s); the target is 1.%d%s", gv, kind, a.deprecated, when, target, assumed),
				Fix:     a.fix(),
			})
		}
	}
	return resultOf(findings)
}

// parseMinor reads "1.33", "v1.33" or "1.33.2" and returns 33.
func parseMinor(v string) (int, bool) {
	v = strings.TrimPrefix(v, "v")
	major, rest, ok := strings.Cut(v, ".")
	if !ok || major != "1" {
		return 0, false
	}
	minor, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(minor)
	return n, err == nil && n >= 0
}

func (a apiChange) fix() string {
	if a.replacement == "" {
		return a.note
	}
	s := "use " + a.replacement
	if a.note != "" {
		s += "; " + a.note
	}
	return s
}
