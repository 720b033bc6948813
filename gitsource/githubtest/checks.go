package githubtest

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

type checkRun struct {
	id                 int64
	sha, name          string
	status, conclusion string
	started, completed time.Time
}

// AddCheckRun records a check run on a commit (sha, or a branch name resolved now), as a
// GitHub App such as Actions would: status queued, in_progress or completed, and for
// completed a conclusion (success, failure, neutral, cancelled, skipped, timed_out,
// action_required). It returns the run's id.
func (s *Server) AddCheckRun(sha, name, status, conclusion string) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	full := s.resolve(sha)
	if full == "" {
		s.t.Fatalf("githubtest: AddCheckRun: no commit %q", sha)
		return 0
	}
	if !slices.Contains([]string{"queued", "in_progress", "completed"}, status) {
		s.t.Fatalf("githubtest: AddCheckRun: status %q is not queued, in_progress or completed", status)
	}
	t := now()
	run := &checkRun{id: s.newID(), sha: full, name: name, status: status, started: t}
	if status == "completed" {
		if conclusion == "" {
			s.t.Fatalf("githubtest: AddCheckRun: a completed run needs a conclusion")
		}
		run.conclusion, run.completed = conclusion, t
	}
	s.checkRuns[full] = append(s.checkRuns[full], run)
	return run.id
}

// listCheckRuns serves GET …/commits/{ref}/check-runs with check_name, status and filter
// (latest, the default, keeps the newest run per name; all keeps every run), newest first.
func (s *Server) listCheckRuns(w http.ResponseWriter, r *http.Request, ref string) {
	sha := s.resolve(ref)
	if sha == "" {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference")
		return
	}
	q := r.URL.Query()
	runs := slices.Clone(s.checkRuns[sha])
	slices.Reverse(runs)
	var out []*checkRun
	seen := map[string]bool{}
	for _, run := range runs {
		if q.Get("filter") != "all" {
			if seen[run.name] {
				continue
			}
			seen[run.name] = true
		}
		if n := q.Get("check_name"); n != "" && run.name != n {
			continue
		}
		if st := q.Get("status"); st != "" && run.status != st {
			continue
		}
		out = append(out, run)
	}
	items := []any{}
	for _, run := range paginate(w, r, s.prefix, out) {
		items = append(items, s.checkRunJSON(run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(out), "check_runs": items})
}

func (s *Server) checkRunJSON(run *checkRun) map[string]any {
	var conclusion any
	if run.conclusion != "" {
		conclusion = run.conclusion
	}
	id := strconv.FormatInt(run.id, 10)
	url := s.api() + s.repoPath() + "/check-runs/" + id
	return map[string]any{
		"id": run.id, "node_id": nodeID("CheckRun", id), "head_sha": run.sha, "external_id": "",
		"url": url, "html_url": s.html() + "/runs/" + id, "details_url": s.html() + "/runs/" + id,
		"status": run.status, "conclusion": conclusion,
		"started_at": timestamp(run.started), "completed_at": timestamp(run.completed),
		"output": map[string]any{
			"title": nil, "summary": nil, "text": nil,
			"annotations_count": 0, "annotations_url": url + "/annotations",
		},
		"name":          run.name,
		"check_suite":   map[string]any{"id": run.id},
		"app":           nil,
		"pull_requests": []any{},
	}
}
