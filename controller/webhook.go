package controller

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// maxWebhookBody is GitHub's cap on a webhook payload (25 MB); anything larger is not GitHub.
const maxWebhookBody = 25 << 20

// Webhook is the /hooks/github endpoint: it verifies a delivery's HMAC-SHA256 signature against
// the shared secret, reads which repository (and branch) it is about, and asks for a cycle of the
// pipelines of that repository at once. It never acts on an unverified delivery.
type Webhook struct {
	// Secret is the webhook secret configured on GitHub. Required: with no secret every delivery
	// is refused.
	Secret Secret
	// Repos maps a repository's "owner/name" (lowercase) to the pipelines that use it.
	Repos map[string][]string
	// Trigger starts a cycle of a pipeline as soon as possible; it must not block.
	Trigger func(pipeline, reason string)
	Log     *slog.Logger
}

// Secret is a string that never prints: logs and errors show REDACTED.
type Secret string

// String hides the secret.
func (Secret) String() string { return "REDACTED" }

// LogValue hides the secret from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Event is what stagegate reads of a delivery.
type Event struct {
	Kind string // push, pull_request, ping
	// Repo is the repository's "owner/name", lowercase.
	Repo string
	// Ref is the pushed branch (push) or the pull request's base branch (pull_request).
	Ref    string
	Action string // pull_request: opened, closed, synchronize, …
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		http.Error(w, "payload unreadable or over 25 MB", http.StatusRequestEntityTooLarge)
		return
	}
	if err := Verify([]byte(h.Secret), body, r.Header.Get("X-Hub-Signature-256")); err != nil {
		h.Log.Warn("webhook refused", "delivery", r.Header.Get("X-GitHub-Delivery"), "err", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	ev, err := ParseEvent(r.Header.Get("X-GitHub-Event"), body)
	if err != nil {
		h.Log.Warn("webhook not understood", "delivery", r.Header.Get("X-GitHub-Delivery"), "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pipelines := h.Repos[ev.Repo]
	if ev.Kind == "ping" || len(pipelines) == 0 {
		w.WriteHeader(http.StatusNoContent) // nothing to do, and nothing wrong with the delivery
		return
	}
	for _, p := range pipelines {
		h.Log.Info("webhook triggers a cycle", "pipeline", p, "event", ev.Kind, "ref", ev.Ref, "delivery", r.Header.Get("X-GitHub-Delivery"))
		h.Trigger(p, ev.Kind+" "+ev.Ref)
	}
	w.WriteHeader(http.StatusAccepted)
}

// Verify checks a GitHub X-Hub-Signature-256 header ("sha256=<hex>") over body in constant time.
func Verify(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return errors.New("no webhook secret is configured; set one on the agent and on GitHub")
	}
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return errors.New("missing X-Hub-Signature-256 header (sha256=…): is the webhook secret set on GitHub?")
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return errors.New("malformed X-Hub-Signature-256 header")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("signature mismatch: the delivery was not signed with this agent's webhook secret")
	}
	return nil
}

// ParseEvent reads the parts of a push, pull_request or ping payload stagegate uses.
func ParseEvent(kind string, body []byte) (Event, error) {
	var payload struct {
		Ref        string `json:"ref"`
		Action     string `json:"action"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
		PullRequest struct {
			Base struct {
				Ref string `json:"ref"`
			} `json:"base"`
		} `json:"pull_request"`
	}
	switch kind {
	case "push", "pull_request", "ping",
		// Reviews, commit statuses and check runs change what the approvals and checks gates see.
		"pull_request_review", "status", "check_run":
	case "":
		return Event{}, errors.New("missing X-GitHub-Event header")
	default:
		return Event{Kind: kind}, fmt.Errorf("event %q is not one stagegate uses; subscribe the webhook to push, pull_request, pull_request_review, status and check_run only", kind)
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		return Event{}, fmt.Errorf("%s payload: %w", kind, err)
	}
	ev := Event{Kind: kind, Repo: strings.ToLower(payload.Repository.FullName), Action: payload.Action}
	switch kind {
	case "push":
		ev.Ref = strings.TrimPrefix(payload.Ref, "refs/heads/")
	case "pull_request", "pull_request_review":
		ev.Ref = payload.PullRequest.Base.Ref
	}
	if kind != "ping" && ev.Repo == "" {
		return Event{}, fmt.Errorf("%s payload has no repository.full_name", kind)
	}
	return ev, nil
}

// RepoName returns "owner/name" (lowercase) of a GitHub repository URL (https://host/owner/name.git,
// ssh://git@host/owner/name.git or git@host:owner/name.git), or "" when it has no such path.
func RepoName(repoURL string) string {
	s := repoURL
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		s = u.Path
	} else if _, path, ok := strings.Cut(s, ":"); ok && strings.Contains(s[:strings.Index(s, ":")], "@") {
		s = path
	}
	s = strings.TrimSuffix(strings.Trim(s, "/"), ".git")
	parts := strings.Split(s, "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || parts[len(parts)-1] == "" {
		return ""
	}
	return strings.ToLower(parts[len(parts)-2] + "/" + parts[len(parts)-1])
}
