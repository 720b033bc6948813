package controller

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/render"
)

// MaxBodyLength is GitHub's limit on a pull request body, in characters. Body counts bytes, which
// are never fewer than characters, so a body within the limit in bytes is within it on GitHub.
const MaxBodyLength = 65536

// maxBodyCommits caps the source commits listed in a body; the rest are counted.
const maxBodyCommits = 50

// Proposal is everything a promotion request shows: the plan of one pair of environments, the
// gate report on the promotion commit, and where it came from.
type Proposal struct {
	Promotion Promotion
	Gates     gates.Report
	// PromotionSHA is the promotion commit the request carries.
	PromotionSHA string
	// ConfigRevision identifies the config the promotion was planned with ("sha256:…").
	ConfigRevision string
	// CommitURL links a commit sha to its page ("" for none).
	CommitURL func(sha string) string
	// PlanCommand reproduces the full plan ("stagegate plan --config stagegate.yaml --pipeline shop").
	PlanCommand string
	// Trailers end the body, as its last paragraph: a repository whose merge commits take the
	// request's title and description puts them on the commit that lands on the target, so it
	// records the promotion even when a person merges.
	Trailers []gitsource.Trailer
	// Banner is a notice put first, above the heading ("" for none): that automatic promotion
	// into the target is paused.
	Banner string
}

// Title is the request's title: "Promote 1a2b3c4 to staging".
func Title(pr Promotion) string {
	return fmt.Sprintf("Promote %s to %s", gitsource.Short(pr.Source.SHA), pr.To)
}

// markerRE finds the machine-readable marker every body ends with, so a later cycle (or another
// agent) recognises its own request and the source it promotes.
var markerRE = regexp.MustCompile(`<!-- stagegate:promotion (\{.*?\}) -->`)

// Marker is what a request body records about its promotion, for the next cycle to read.
type Marker struct {
	Pipeline string `json:"pipeline"`
	Env      string `json:"env"`
	Source   string `json:"source"`
	Digest   string `json:"digest"`
	// ClosedBy is "stagegate" when the agent closed the request (nothing left to promote); a
	// request closed by a person has none, and is not reopened for the same source.
	ClosedBy string `json:"closedBy,omitempty"`
}

// closedByStagegate returns body with its marker saying stagegate closed the request.
func closedByStagegate(body string) (string, bool) {
	m, ok := ReadMarker(body)
	if !ok {
		return body, false
	}
	m.ClosedBy = "stagegate"
	b, _ := json.Marshal(m)
	return markerRE.ReplaceAllLiteralString(body, "<!-- stagegate:promotion "+string(b)+" -->"), true
}

// ReadMarker returns the marker of a request body; ok is false when there is none.
func ReadMarker(body string) (m Marker, ok bool) {
	sub := markerRE.FindStringSubmatch(body)
	if sub == nil || json.Unmarshal([]byte(sub[1]), &m) != nil {
		return Marker{}, false
	}
	return m, true
}

// Body writes the request body in GitHub-flavoured Markdown, at most limit characters (GitHub's
// MaxBodyLength when limit is 0). The summary, the gate table, the list of every changed object
// and the provenance always stay whole; gate findings and object diffs are added, in order, while
// they fit, and the body says what it left out and how to see it.
func Body(p Proposal, limit int) string {
	if limit <= 0 {
		limit = MaxBodyLength
	}
	pr := p.Promotion
	var head, tail strings.Builder

	head.WriteString(p.Banner)
	fmt.Fprintf(&head, "## Promote `%s` from %s to %s\n\n", gitsource.Short(pr.Source.SHA), pr.From, pr.To)
	fmt.Fprintf(&head, "%s\n\n", summary(p))
	_ = p.Gates.WriteMarkdownTable(&head)
	head.WriteString("\n")
	writeCommits(&head, p)
	writeChangeTable(&head, pr.Changes)

	writeProvenance(&tail, p)

	// What is left goes to findings first (they explain a failing gate), then to diffs.
	var findings strings.Builder
	_ = p.Gates.WriteMarkdownFindings(&findings)
	end := trailerBlock(p.Trailers)
	room := limit - len(head.String()) - len(tail.String()) - len(end) - reserve
	var optional strings.Builder
	if findings.Len() > 0 {
		if findings.Len() <= room {
			optional.WriteString(findings.String())
			optional.WriteString("\n")
			room -= findings.Len() + 1
		} else {
			note := fmt.Sprintf("\n> The gate findings do not fit in this description; see them with `%s` or in the statuses' reports.\n\n", gateCommand(p))
			optional.WriteString(note)
			room -= len(note)
		}
	}
	shown := 0
	var diffs strings.Builder
	for _, ch := range pr.Changes {
		block := diffBlock(ch)
		if len(block) > room {
			continue // a smaller diff further on may still fit
		}
		diffs.WriteString(block)
		room -= len(block)
		shown++
	}
	if len(pr.Changes) > 0 {
		optional.WriteString("### Rendered diff\n\n")
		optional.WriteString(diffs.String())
		if shown < len(pr.Changes) {
			fmt.Fprintf(&optional, "\n> %d of %d object diffs are shown: the rest would pass GitHub's %d-character limit. See every diff with `%s`.\n\n",
				shown, len(pr.Changes), MaxBodyLength, p.PlanCommand)
		}
	}

	body := head.String() + optional.String() + tail.String() + end
	if len(body) > limit {
		// Even the parts kept whole do not fit (thousands of changed objects): cut at a line
		// boundary and keep the marker and the trailers, so the request is still recognised
		// and its merge still records the promotion.
		marker := markerLine(p) + end
		cut := limit - len(marker) - len(truncated)
		if cut < 0 {
			cut = 0
		}
		if i := strings.LastIndexByte(body[:cut], '\n'); i >= 0 {
			cut = i + 1
		}
		body = body[:cut] + truncated + marker
	}
	return body
}

// reserve keeps room for the notes Body may add after the optional parts.
const reserve = 512

const truncated = "\n> This description was cut at GitHub's limit; `stagegate plan` shows the whole promotion.\n\n"

func summary(p Proposal) string {
	pr := p.Promotion
	n := map[render.ChangeType]int{}
	for _, ch := range pr.Changes {
		n[ch.Type]++
	}
	commits := fmt.Sprintf("%d commit%s", len(pr.Commits), plural(len(pr.Commits)))
	if pr.MoreCommits {
		commits = "more than " + commits
	}
	return fmt.Sprintf("This promotes %s from `%s` into `%s`: %d object%s change (%d added, %d removed, %d changed). Gates: %s %s.",
		commits, pr.Source.Name, pr.Target.Name, len(pr.Changes), plural(len(pr.Changes)),
		n[render.Added], n[render.Removed], n[render.Changed], outcomeIcon(p.Gates.Verdict), p.Gates.Verdict)
}

func writeCommits(b *strings.Builder, p Proposal) {
	pr := p.Promotion
	fmt.Fprintf(b, "### Source commits\n\n")
	if len(pr.Commits) == 0 {
		b.WriteString("None: the target differs from the source without new source commits (a change made on the target itself).\n\n")
		return
	}
	writeCommitList(b, p, pr.Commits)
	if pr.MoreCommits {
		b.WriteString("- …and older commits not listed\n")
	}
	if len(pr.Carried) > 0 {
		b.WriteString("\nwhich carry these commits from earlier environments:\n\n")
		writeCommitList(b, p, pr.Carried)
	}
	b.WriteString("\n")
}

func writeCommitList(b *strings.Builder, p Proposal, commits []gitsource.Commit) {
	for i, c := range commits {
		if i == maxBodyCommits {
			fmt.Fprintf(b, "- …and %d more\n", len(commits)-i)
			break
		}
		sha := "`" + gitsource.Short(c.SHA) + "`"
		if p.CommitURL != nil {
			if u := p.CommitURL(c.SHA); u != "" {
				sha = "[" + sha + "](" + u + ")"
			}
		}
		fmt.Fprintf(b, "- %s %s — %s\n", sha, mdText(c.Author), mdText(c.Subject))
	}
}

var changeWord = map[render.ChangeType]string{render.Added: "➕ added", render.Removed: "➖ removed", render.Changed: "✏️ changed"}

func writeChangeTable(b *strings.Builder, changes []render.Change) {
	fmt.Fprintf(b, "### Changed objects\n\n")
	if len(changes) == 0 {
		b.WriteString("None.\n\n")
		return
	}
	b.WriteString("| object | change | lines | source |\n|---|---|---|---|\n")
	for _, ch := range changes {
		what := changeWord[ch.Type]
		if ch.RenamedFrom != "" {
			what += " (was `" + ch.RenamedFrom + "`)"
		}
		src := ""
		if ch.Source != "" {
			src = "`" + ch.Source + "`"
		}
		fmt.Fprintf(b, "| `%s` | %s | +%d −%d | %s |\n", ch.ID, what, ch.Added, ch.Removed, src)
	}
	b.WriteString("\n")
}

// diffBlock is one object's diff, collapsed, in a fence longer than any backtick run inside it.
func diffBlock(ch render.Change) string {
	fence := "```"
	for strings.Contains(ch.Diff, fence) {
		fence += "`"
	}
	return fmt.Sprintf("<details><summary><code>%s</code> (+%d −%d)</summary>\n\n%sdiff\n%s%s\n\n</details>\n\n",
		mdText(ch.ID.String()), ch.Added, ch.Removed, fence, ch.Diff, fence)
}

func writeProvenance(b *strings.Builder, p Proposal) {
	pr := p.Promotion
	b.WriteString("### Provenance\n\n| | |\n|---|---|\n")
	fmt.Fprintf(b, "| source | `%s@%s` |\n", pr.Source.Name, pr.Source.SHA)
	fmt.Fprintf(b, "| target | `%s@%s` |\n", pr.Target.Name, pr.Target.SHA)
	if p.PromotionSHA != "" {
		fmt.Fprintf(b, "| promotion commit | `%s` |\n", p.PromotionSHA)
	}
	fmt.Fprintf(b, "| rendered digest | `%s` (now `%s`) |\n", pr.ProposedDigest, pr.CurrentDigest)
	if p.ConfigRevision != "" {
		fmt.Fprintf(b, "| config revision | `%s` |\n", p.ConfigRevision)
	}
	fmt.Fprintf(b, "| reproduce | `%s` |\n\n", p.PlanCommand)
	b.WriteString(markerLine(p))
}

// trailerBlock is the body's last paragraph: one "Key: value" line per trailer.
func trailerBlock(trailers []gitsource.Trailer) string {
	if len(trailers) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n")
	for _, t := range trailers {
		fmt.Fprintf(&b, "%s: %s\n", t.Key, strings.Join(strings.Fields(t.Value), " "))
	}
	return b.String()
}

func markerLine(p Proposal) string {
	m, _ := json.Marshal(Marker{Pipeline: p.Promotion.Pipeline, Env: p.Promotion.To, Source: p.Promotion.Source.SHA, Digest: p.Promotion.ProposedDigest})
	return "<!-- stagegate:promotion " + string(m) + " -->\n"
}

func gateCommand(p Proposal) string {
	return fmt.Sprintf("stagegate gate --pipeline %s --env %s --ref %s", p.Promotion.Pipeline, p.Promotion.To, gitsource.Short(p.PromotionSHA))
}

func outcomeIcon(o gates.Outcome) string {
	switch o {
	case gates.Pass:
		return "✅"
	case gates.Fail:
		return "❌"
	}
	return "⏳"
}

// mdText keeps user text (commit subjects, names) from turning into Markdown or HTML.
func mdText(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "|", "\\|", "\n", " ", "`", "'").Replace(s)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
