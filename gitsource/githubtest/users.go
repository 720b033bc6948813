package githubtest

import (
	"net/http"
	"slices"
	"strconv"
)

// userJSON is GitHub's simple-user object for a login.
func (s *Server) userJSON(login string) map[string]any {
	id := s.userID(login)
	api := s.api() + "/users/" + login
	typ := "User"
	if login == s.opts.Owner {
		typ = "Organization"
	}
	return map[string]any{
		"login":               login,
		"id":                  id,
		"node_id":             nodeID("User", login),
		"avatar_url":          s.srv.URL + "/avatars/u/" + strconv.FormatInt(id, 10),
		"gravatar_id":         "",
		"url":                 api,
		"html_url":            s.srv.URL + "/" + login,
		"followers_url":       api + "/followers",
		"following_url":       api + "/following{/other_user}",
		"gists_url":           api + "/gists{/gist_id}",
		"starred_url":         api + "/starred{/owner}{/repo}",
		"subscriptions_url":   api + "/subscriptions",
		"organizations_url":   api + "/orgs",
		"repos_url":           api + "/repos",
		"events_url":          api + "/events{/privacy}",
		"received_events_url": api + "/received_events",
		"type":                typ,
		"site_admin":          false,
	}
}

// SetTeam makes members (logins) the members of the team org/slug, replacing any before.
func (s *Server) SetTeam(org, slug string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teams[org+"/"+slug] = slices.Clone(members)
}

// listTeamMembers serves GET /orgs/{org}/teams/{team_slug}/members. An unknown team is 404.
func (s *Server) listTeamMembers(w http.ResponseWriter, r *http.Request) {
	members, ok := s.teams[r.PathValue("org")+"/"+r.PathValue("slug")]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/teams/members#list-team-members")
		return
	}
	users := []any{}
	for _, login := range paginate(w, r, s.prefix, members) {
		users = append(users, s.userJSON(login))
	}
	writeJSON(w, http.StatusOK, users)
}
