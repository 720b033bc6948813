package local

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// SetStatus records a commit status on sha, replacing the one with the same context. A status
// equal to the one recorded (state, description, link) changes nothing and writes nothing.
func (f *Forge) SetStatus(ctx context.Context, sha string, s gitsource.Status) error {
	if !fullSHA(sha) {
		return fmt.Errorf("set status %s: %q is not a full commit sha", s.Context, sha)
	}
	sha = strings.ToLower(sha)
	return f.update(ctx, fmt.Sprintf("status %s=%s on %s", s.Context, s.State, gitsource.Short(sha)), func(r *records) error {
		list := r.statuses[sha]
		i := slices.IndexFunc(list, func(h gitsource.Status) bool { return h.Context == s.Context })
		if i >= 0 && list[i].State == s.State && list[i].Description == s.Description && list[i].TargetURL == s.TargetURL {
			return nil
		}
		s.Kind, s.Updated = gitsource.CommitStatus, f.now()
		if i >= 0 {
			list[i] = s
		} else {
			list = append(list, s)
		}
		slices.SortFunc(list, func(a, b gitsource.Status) int { return strings.Compare(a.Context, b.Context) })
		r.statuses[sha] = list
		return nil
	})
}

// Statuses returns the latest commit status per context on sha, sorted by context. The local
// forge has commit statuses only (no check runs).
func (f *Forge) Statuses(ctx context.Context, sha string) ([]gitsource.Status, error) {
	r, _, _, err := f.load(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.statuses[strings.ToLower(sha)]), nil
}

func fullSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
