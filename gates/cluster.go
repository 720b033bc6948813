package gates

import (
	"fmt"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/render"
)

// The gates that judge the target environment's cluster: drift (drift.go) and dry-run
// (dryrun.go). The agent asks the cluster before the gates run and hands them ClusterFacts.

// clusterGate is implemented by gates that need facts only the agent gathers from the target
// cluster; like a forgeGate, `stagegate gate` skips them (see WithoutForge).
type clusterGate interface{ needsCluster() }

// clusterRetry is how soon a cluster gate asks to be evaluated again after the cluster did not
// answer: soon, since an API server that is briefly away (an upgrade, a network blip) is usual.
const clusterRetry = time.Minute

// clusterUnreachable is the Pending result of a cluster gate whose cluster did not answer.
func clusterUnreachable(in Input) Result {
	return Result{Outcome: Pending, RetryAfter: in.Now.Add(clusterRetry),
		Summary: fmt.Sprintf("cannot reach the cluster of %s: %s", envName(in.Env), in.Cluster.Unreachable)}
}

// envName names an environment in a summary.
func envName(env config.Environment) string {
	if env.Name == "" {
		return "the environment"
	}
	return "environment " + env.Name
}

// refIndex finds the rendered object a cluster fact is about, so the finding names the file it
// came from and the object's waivers apply to it.
type refIndex map[render.ID]ObjectRef

func newRefIndex(objs render.Objects) refIndex {
	ix := make(refIndex, len(objs))
	for _, o := range objs {
		ix[o.ID()] = Ref(o)
	}
	return ix
}

// resolve returns the rendered object's ref for r (same group, kind, namespace and name), or r
// itself when nothing rendered matches (an extra object, or one the promotion removes).
func (ix refIndex) resolve(r ObjectRef) ObjectRef {
	group, _, ok := strings.Cut(r.APIVersion, "/")
	if !ok {
		group = ""
	}
	if o, found := ix[render.ID{Group: group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}]; found {
		return o
	}
	return r
}

// pointerPath writes a drift JSON pointer ("/spec/template/spec/containers/name=web/image") the
// way the schema gate writes paths ("spec.template.spec.containers[name=web].image"): list
// items in brackets, other keys quoted (metadata.annotations["stagegate.dev/waive"]).
func pointerPath(pointer string) string {
	if pointer == "" || pointer == "/" {
		return ""
	}
	var b strings.Builder
	for _, seg := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		switch {
		case isIndex(seg) || strings.Contains(seg, "="):
			b.WriteString("[" + seg + "]")
		case isPlainKey(seg):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(seg)
		default:
			fmt.Fprintf(&b, "[%q]", seg)
		}
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
