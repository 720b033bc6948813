package githubtest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const statusesDocs = "https://docs.github.com/rest/commits/statuses"

type status struct {
	id                     int64
	state, context         string
	description, targetURL string
	creator                string
	created                time.Time
}

// createStatus serves POST /repos/{owner}/{repo}/statuses/{sha}.
func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		State       string  `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     string  `json:"context"`
	}
	if !decode(w, r, &in) {
		return
	}
	docs := statusesDocs + "#create-a-commit-status"
	sha := r.PathValue("sha")
	full := s.resolve(sha)
	if full == "" || !strings.HasPrefix(full, strings.ToLower(sha)) {
		writeValidation(w, docs, fieldError{Resource: "Status", Code: "custom", Message: "No commit found for SHA: " + sha})
		return
	}
	if !slices.Contains([]string{"error", "failure", "pending", "success"}, in.State) {
		writeValidation(w, docs, fieldError{Resource: "Status", Field: "state", Code: "custom", Message: "state is not included in the list"})
		return
	}
	if in.Description != nil && len(*in.Description) > 140 {
		writeValidation(w, docs, fieldError{Resource: "Status", Field: "description", Code: "custom", Message: "description is too long (maximum is 140 characters)"})
		return
	}
	if in.Context == "" {
		in.Context = "default"
	}
	st := &status{id: s.newID(), state: in.State, context: in.Context, creator: s.login, created: now()}
	if in.Description != nil {
		st.description = *in.Description
	}
	if in.TargetURL != nil {
		st.targetURL = *in.TargetURL
	}
	s.statuses[full] = append(s.statuses[full], st)
	writeJSON(w, http.StatusCreated, s.statusJSON(full, st, true))
}

// latestStatuses is the newest status per context, in order of each context's first status.
func (s *Server) latestStatuses(sha string) []*status {
	var out []*status
	index := map[string]int{}
	for _, st := range s.statuses[sha] {
		if i, ok := index[st.context]; ok {
			out[i] = st
			continue
		}
		index[st.context] = len(out)
		out = append(out, st)
	}
	return out
}

// combinedState follows GitHub's rules: failure if any context is error or failure, pending
// if there are none or any is pending, success otherwise.
func combinedState(latest []*status) string {
	state := "success"
	if len(latest) == 0 {
		return "pending"
	}
	for _, st := range latest {
		switch st.state {
		case "error", "failure":
			return "failure"
		case "pending":
			state = "pending"
		}
	}
	return state
}

// commitsRef routes GET …/commits/{ref}/status, …/statuses and …/check-runs, and the commit
// itself (…/commits/{ref}), where ref is a sha, a branch, heads/<branch> or tags/<tag>,
// slashes and all, as GitHub takes it.
func (s *Server) commitsRef(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	for suffix, h := range map[string]func(http.ResponseWriter, *http.Request, string){
		"/status": s.combinedStatus, "/statuses": s.listStatuses, "/check-runs": s.listCheckRuns,
	} {
		if ref, ok := strings.CutSuffix(rest, suffix); ok && ref != "" {
			h(w, r, ref)
			return
		}
	}
	s.getCommit(w, r, rest)
}

// combinedStatus serves GET …/commits/{ref}/status.
func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request, ref string) {
	sha := s.resolve(ref)
	if sha == "" {
		writeError(w, http.StatusNotFound, "No commit found for SHA: "+ref, statusesDocs+"#get-the-combined-status-for-a-specific-reference")
		return
	}
	latest := s.latestStatuses(sha)
	items := []any{}
	for _, st := range paginate(w, r, s.prefix, latest) {
		items = append(items, s.statusJSON(sha, st, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"state":       combinedState(latest),
		"sha":         sha,
		"total_count": len(latest),
		"statuses":    items,
		"repository":  s.repoJSON(true),
		"commit_url":  s.api() + s.repoPath() + "/commits/" + sha,
		"url":         s.api() + s.repoPath() + "/commits/" + sha + "/status",
	})
}

// listStatuses serves GET …/commits/{ref}/statuses: every status, newest first.
func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request, ref string) {
	sha := s.resolve(ref)
	if sha == "" {
		writeError(w, http.StatusNotFound, "Not Found", statusesDocs+"#list-commit-statuses-for-a-reference")
		return
	}
	all := slices.Clone(s.statuses[sha])
	slices.Reverse(all)
	items := []any{}
	for _, st := range paginate(w, r, s.prefix, all) {
		items = append(items, s.statusJSON(sha, st, true))
	}
	writeJSON(w, http.StatusOK, items)
}

// statusJSON is GitHub's status object; withCreator for the status schema, without for the
// combined status's simple-commit-status.
func (s *Server) statusJSON(sha string, st *status, withCreator bool) map[string]any {
	var desc, target any
	if st.description != "" {
		desc = st.description
	}
	if st.targetURL != "" {
		target = st.targetURL
	}
	m := map[string]any{
		"url": s.api() + s.repoPath() + "/statuses/" + sha, "id": st.id,
		"node_id":    nodeID("StatusContext", strconv.FormatInt(st.id, 10)),
		"avatar_url": s.userJSON(st.creator)["avatar_url"], "state": st.state,
		"description": desc, "target_url": target, "context": st.context,
		"created_at": timestamp(st.created), "updated_at": timestamp(st.created),
	}
	if withCreator {
		m["creator"] = s.userJSON(st.creator)
	}
	return m
}
