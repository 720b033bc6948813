package gitsource_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestFormatMessage(t *testing.T) {
	tests := []struct {
		name     string
		subject  string
		body     string
		trailers []gitsource.Trailer
		want     string
	}{
		{"subject, body and trailers are three paragraphs", "Promote 0123456 to staging", "- Bump app to v2\n- Fix probe",
			[]gitsource.Trailer{{"Stagegate-Source", "env/dev@" + sha}, {"Stagegate-Gate", "security=pass"}},
			"Promote 0123456 to staging\n\n- Bump app to v2\n- Fix probe\n\nStagegate-Source: env/dev@" + sha + "\nStagegate-Gate: security=pass\n"},
		{"no body", "Promote", "", []gitsource.Trailer{{"K", "v"}}, "Promote\n\nK: v\n"},
		{"subject alone", "Promote", "", nil, "Promote\n"},
		{"trailing blank lines and spaces are trimmed", "Promote  ", "body\n\n  \n", []gitsource.Trailer{{"K", "  v  "}}, "Promote\n\nbody\n\nK: v\n"},
		{"a body ending in trailer-like lines stays apart from the trailers", "Promote", "Signed-off-by: someone",
			[]gitsource.Trailer{{"K", "v"}}, "Promote\n\nSigned-off-by: someone\n\nK: v\n"},
		{"an empty value", "Promote", "", []gitsource.Trailer{{"K", ""}}, "Promote\n\nK: \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gitsource.FormatMessage(tt.subject, tt.body, tt.trailers)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FormatMessage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatMessageRefuses(t *testing.T) {
	tests := []struct {
		name     string
		subject  string
		trailers []gitsource.Trailer
		want     string // in the error
	}{
		{"an empty subject", " ", nil, "subject is empty"},
		{"a subject of two lines", "a\nb", nil, "spans lines"},
		{"a key with a space", "s", []gitsource.Trailer{{"Bad Key", "v"}}, `trailer key "Bad Key": use letters, digits and dashes`},
		{"a key starting with a dash", "s", []gitsource.Trailer{{"-K", "v"}}, "trailer key"},
		{"an empty key", "s", []gitsource.Trailer{{"", "v"}}, "trailer key"},
		{"a value of two lines", "s", []gitsource.Trailer{{"K", "a\nb"}}, "a trailer value is one line"},
		{"a value with a carriage return", "s", []gitsource.Trailer{{"K", "a\rb"}}, "a trailer value is one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gitsource.FormatMessage(tt.subject, "", tt.trailers)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FormatMessage error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// checkRoundTrip asserts the property FormatMessage promises: Trailers reads back the trailers
// it was given (values trimmed), and the subject is the first line.
func checkRoundTrip(t *testing.T, subject, body string, trailers []gitsource.Trailer) {
	t.Helper()
	msg, err := gitsource.FormatMessage(subject, body, trailers)
	if err != nil {
		return
	}
	if first, _, _ := strings.Cut(msg, "\n"); first != strings.TrimRight(first, " \t") || strings.TrimSpace(first) != strings.TrimSpace(subject) {
		t.Fatalf("subject %q came back as %q in %q", subject, first, msg)
	}
	if len(trailers) == 0 {
		return // a body may end in its own trailer-like paragraph; nothing is promised
	}
	want := make([]gitsource.Trailer, len(trailers))
	for i, tr := range trailers {
		want[i] = gitsource.Trailer{Key: tr.Key, Value: strings.TrimSpace(tr.Value)}
	}
	if diff := cmp.Diff(want, gitsource.Trailers(msg)); diff != "" {
		t.Fatalf("Trailers(FormatMessage(%q, %q, ...)) (-want +got):\n%s\nmessage: %q", subject, body, diff, msg)
	}
}

func TestTrailerRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		subject  string
		body     string
		trailers []gitsource.Trailer
	}{
		{"stagegate's trailers", "Promote 0123456 to prod", "- a\n- b", []gitsource.Trailer{
			{gitsource.TrailerSource, "env/staging@" + sha}, {gitsource.TrailerRendered, "sha256:abc"},
			{gitsource.TrailerGate, "security=pass"}, {gitsource.TrailerGate, "window=pass"}, {gitsource.TrailerApprovedBy, "alice"}}},
		{"a body with paragraphs and CRLF", "s", "para one\r\n\r\npara two\r\n", []gitsource.Trailer{{"K", "v"}}},
		{"a body that is itself a trailer block", "s", "Key: body\n", []gitsource.Trailer{{"K", "v"}}},
		{"a body of blank lines", "s", "\n\n\n", []gitsource.Trailer{{"K", "v"}}},
		{"values with inner and outer white space", "s", "", []gitsource.Trailer{{"K", " a  b\t"}, {"L", "\u00a0x\u0085"}}},
		{"a value that looks like a key", "s", "", []gitsource.Trailer{{"K", "L: v"}}},
		{"empty values", "s", "", []gitsource.Trailer{{"K", ""}, {"L", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := gitsource.FormatMessage(tt.subject, tt.body, tt.trailers); err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, tt.subject, tt.body, tt.trailers)
		})
	}
}

func FuzzTrailerRoundTrip(f *testing.F) {
	f.Add("Promote 0123456 to staging", "- Bump app", gitsource.TrailerSource, "env/dev@"+sha, gitsource.TrailerGate, "security=pass")
	f.Add("s", "Key: v\n\n", "K", " v ", "L", "")
	f.Add("s", "\r\n\r\n", "K-1", "\u00a0", "x", "a: b")
	f.Fuzz(func(t *testing.T, subject, body, k1, v1, k2, v2 string) {
		trailers := []gitsource.Trailer{{k1, v1}}
		if k2 != "" {
			trailers = append(trailers, gitsource.Trailer{Key: k2, Value: v2})
		}
		checkRoundTrip(t, subject, body, trailers)
	})
}

// promotionRepo is a repository whose env/staging branched from env/dev, after which dev moved
// on once. It returns the repository and the mirror with both branches synced.
func promotionRepo(t *testing.T) (string, *gitsource.Mirror) {
	t.Helper()
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {"app.yaml": "v1\n"}})
	gitsourcetest.Branch(t, repo, "env/staging", "env/dev")
	gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"app.yaml": "v2\n"}, "Bump app to v2")
	m := open(t, config.Repo{URL: "file://" + repo}, nil, nil)
	if _, err := m.Sync(context.Background(), []string{"env/dev", "env/staging"}); err != nil {
		t.Fatal(err)
	}
	return repo, m
}

func TestWritePromotion(t *testing.T) {
	ctx := context.Background()
	repo, m := promotionRepo(t)
	dev, staging := gitsourcetest.Head(t, repo, "env/dev"), gitsourcetest.Head(t, repo, "env/staging")
	p := gitsource.Promotion{
		Target:       "env/staging",
		SourceBranch: "env/dev",
		SourceSHA:    dev[:7],
		Subject:      "Promote " + dev[:7] + " to staging",
		Body:         "- Bump app to v2",
		Trailers:     []gitsource.Trailer{{gitsource.TrailerGate, "security=pass"}},
	}
	sha, err := m.WritePromotion(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Commit(sha)
	if err != nil {
		t.Fatal(err)
	}
	// Read back with git itself, from the mirror: the object is a well-formed commit.
	got := gitsourcetest.Git(t, m.Dir(), "cat-file", "-p", sha)
	devTree := strings.TrimSpace(gitsourcetest.Git(t, repo, "rev-parse", dev+"^{tree}"))
	if !strings.HasPrefix(got, "tree "+devTree+"\nparent "+staging+"\n") {
		t.Errorf("promotion commit =\n%s\nwant tree %s (the source's) and parent %s (the target's head)", got, devTree, staging)
	}
	wantMsg := "Promote " + dev[:7] + " to staging\n\n- Bump app to v2\n\nStagegate-Source: env/dev@" + dev + "\nStagegate-Gate: security=pass\n"
	if diff := cmp.Diff(wantMsg, c.Message); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if b, s, ok, err := gitsource.Source(c.Message); !ok || err != nil || b != "env/dev" || s != dev {
		t.Errorf("Source = %s, %s, %v, %v; want env/dev, %s", b, s, ok, err, dev)
	}
	devCommit, _ := m.Commit(dev)
	if c.Author != gitsource.DefaultAuthorName || c.AuthorEmail != gitsource.DefaultAuthorEmail || !c.CommitTime.Equal(devCommit.CommitTime) {
		t.Errorf("author %s <%s> at %v; want the default identity at the source's commit time %v", c.Author, c.AuthorEmail, c.CommitTime, devCommit.CommitTime)
	}
	gitsourcetest.Git(t, m.Dir(), "fsck", "--no-dangling")

	again, err := m.WritePromotion(ctx, p)
	if err != nil || again != sha {
		t.Errorf("writing the same promotion again = %s, %v; want the same sha %s", again, err, sha)
	}
	// A fresh mirror of the same repository (another agent) writes the very same commit.
	other := open(t, config.Repo{URL: "file://" + repo}, nil, nil)
	if _, err := other.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if theirs, err := other.WritePromotion(ctx, p); err != nil || theirs != sha {
		t.Errorf("another mirror wrote %s, %v; want the same sha %s", theirs, err, sha)
	}
}

func TestWritePromotionOptions(t *testing.T) {
	ctx := context.Background()
	repo, m := promotionRepo(t)
	dev, staging := gitsourcetest.Head(t, repo, "env/dev"), gitsourcetest.Head(t, repo, "env/staging")
	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	base := gitsource.Promotion{Target: "env/staging", SourceBranch: "env/dev", SourceSHA: dev, Subject: "Promote"}

	t.Run("the author given is author and committer", func(t *testing.T) {
		p := base
		p.Author = gitsource.Signature{Name: "Bot", Email: "bot@example.com", When: when}
		sha, err := m.WritePromotion(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := m.Commit(sha)
		if c.Author != "Bot" || c.Committer != "Bot" || c.AuthorEmail != "bot@example.com" || !c.AuthorTime.Equal(when) || !c.CommitTime.Equal(when) {
			t.Errorf("commit %+v; want Bot <bot@example.com> at %v as author and committer", c, when)
		}
	})
	t.Run("ParentSHA wins over the target's head", func(t *testing.T) {
		p := base
		p.Target, p.ParentSHA = "", dev
		sha, err := m.WritePromotion(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := m.Commit(sha); !cmp.Equal(c.Parents, []string{dev}) {
			t.Errorf("parents = %v, want [%s]", c.Parents, dev)
		}
	})
	t.Run("a Stagegate-Source trailer given is kept, not doubled", func(t *testing.T) {
		p := base
		p.Trailers = []gitsource.Trailer{{gitsource.TrailerGate, "a=pass"}, {gitsource.TrailerSource, "env/dev@" + dev}}
		sha, err := m.WritePromotion(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := m.Commit(sha)
		if diff := cmp.Diff(p.Trailers, gitsource.Trailers(c.Message)); diff != "" {
			t.Errorf("trailers (-want +got):\n%s", diff)
		}
	})

	errs := []struct {
		name   string
		change func(*gitsource.Promotion)
		want   string
	}{
		{"a target the mirror lacks", func(p *gitsource.Promotion) { p.Target = "env/prod" }, "has no branch env/prod: sync it"},
		{"an unknown source", func(p *gitsource.Promotion) { p.SourceSHA = "feedfacefeedfacefeedfacefeedfacefeedface" }, "source commit: revision"},
		{"no source branch", func(p *gitsource.Promotion) { p.SourceBranch = "" }, "set SourceBranch and SourceSHA"},
		{"no target", func(p *gitsource.Promotion) { p.Target = "" }, "set Target"},
		{"no subject", func(p *gitsource.Promotion) { p.Subject = "" }, "subject is empty"},
		{"a Stagegate-Source trailer naming another commit", func(p *gitsource.Promotion) {
			p.Trailers = []gitsource.Trailer{{gitsource.TrailerSource, "env/dev@" + staging}}
		}, "is not the promoted commit env/dev@" + dev},
	}
	for _, tt := range errs {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			p := base
			tt.change(&p)
			if _, err := m.WritePromotion(ctx, p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WritePromotion error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if got := gitsourcetest.Head(t, repo, "env/staging"); got != staging {
		t.Errorf("writing promotions moved the remote's env/staging to %s", got)
	}
}

func TestEquivalent(t *testing.T) {
	ctx := context.Background()
	repo, m := promotionRepo(t)
	dev, staging := gitsourcetest.Head(t, repo, "env/dev"), gitsourcetest.Head(t, repo, "env/staging")
	write := func(p gitsource.Promotion) string {
		t.Helper()
		sha, err := m.WritePromotion(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return sha
	}
	base := gitsource.Promotion{Target: "env/staging", SourceBranch: "env/dev", SourceSHA: dev, Subject: "Promote"}
	first := write(base)
	reworded := base
	reworded.Body, reworded.Trailers = "new body", []gitsource.Trailer{{gitsource.TrailerGate, "security=fail"}}
	otherParent := base
	otherParent.ParentSHA = dev
	otherTree := base
	otherTree.SourceSHA = staging

	tests := []struct {
		name string
		b    string
		want bool
	}{
		{"the same commit", first, true},
		{"only the message differs", write(reworded), true},
		{"another parent", write(otherParent), false},
		{"another tree", write(otherTree), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Equivalent(first, tt.b)
			if err != nil || got != tt.want {
				t.Errorf("Equivalent = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := m.Equivalent(first, "nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Equivalent with an unknown commit: err = %v, want not found", err)
	}
}
