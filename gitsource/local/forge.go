package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Ref holds the local forge's records.
const Ref = "refs/stagegate/forge"

// DefaultActor is the name the agent records as the author of what it does.
const DefaultActor = "stagegate"

// DefaultRetries is how many times a change is applied again after losing a lease race.
const DefaultRetries = 10

// Options configure a Forge. The zero value is ready to use.
type Options struct {
	// Actor is who the forge records as opening requests, reviewing, commenting and merging.
	// Default DefaultActor; the CLI passes the person (--as, else git config user.name, else $USER).
	Actor string
	// Email is the actor's email on the commits the forge writes (records and merges). Default
	// gitsource.DefaultAuthorEmail.
	Email string
	// Retries bounds how often a change is applied again after another writer moved the ref
	// first. Default DefaultRetries.
	Retries int
	// Now is the clock of the records' times. Default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Forge is the local forge of one repository, working through the mirror the controller uses
// (a *gitsource.Mirror is safe for concurrent use, so the two share it).
type Forge struct {
	m    *gitsource.Mirror
	opts Options
}

// New returns the local forge of the mirror's repository. It does no I/O.
func New(m *gitsource.Mirror, opts Options) *Forge {
	if opts.Actor == "" {
		opts.Actor = DefaultActor
	}
	if opts.Email == "" {
		opts.Email = gitsource.DefaultAuthorEmail
	}
	if opts.Retries <= 0 {
		opts.Retries = DefaultRetries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Forge{m: m, opts: opts}
}

// Actor is who this forge acts as.
func (f *Forge) Actor() string { return f.opts.Actor }

func (f *Forge) now() time.Time { return f.opts.Now().UTC() }

// Comment is a comment on a request or an issue.
type Comment struct {
	Author  string    `json:"author"`
	Body    string    `json:"body"`
	Created time.Time `json:"created"`
}

// requestRecord is requests/<n>.json.
type requestRecord struct {
	gitsource.Request
	Comments []Comment      `json:"comments,omitempty"`
	Reviews  []reviewRecord `json:"reviews,omitempty"`
}

// reviewRecord is a review with what its author wrote.
type reviewRecord struct {
	gitsource.Review
	Body string `json:"body,omitempty"`
}

// issueRecord is issues/<n>.json.
type issueRecord struct {
	gitsource.Issue
	Created  time.Time `json:"created"`
	Comments []Comment `json:"comments,omitempty"`
}

// records are the forge's state at one commit of Ref.
type records struct {
	next     int
	requests map[int]*requestRecord
	issues   map[int]*issueRecord
	statuses map[string][]gitsource.Status // sha → one per context, sorted by context
}

func decode(files map[string][]byte) (*records, error) {
	r := &records{next: 1, requests: map[int]*requestRecord{}, issues: map[int]*issueRecord{}, statuses: map[string][]gitsource.Status{}}
	for name, b := range files {
		dir, file := path.Split(name)
		var err error
		switch {
		case name == "next":
			r.next, err = strconv.Atoi(strings.TrimSpace(string(b)))
		case dir == "requests/":
			var rec requestRecord
			if err = json.Unmarshal(b, &rec); err == nil {
				r.requests[rec.Number] = &rec
			}
		case dir == "issues/":
			var rec issueRecord
			if err = json.Unmarshal(b, &rec); err == nil {
				r.issues[rec.Number] = &rec
			}
		case dir == "statuses/":
			var list []gitsource.Status
			if err = json.Unmarshal(b, &list); err == nil {
				r.statuses[strings.TrimSuffix(file, ".json")] = list
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s in %s: %w: repair it with git (the ref's history has every earlier version)", name, Ref, err)
		}
	}
	return r, nil
}

func (r *records) encode() (map[string][]byte, error) {
	files := map[string][]byte{"next": []byte(strconv.Itoa(r.next) + "\n")}
	put := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		files[name] = append(b, '\n')
		return nil
	}
	for n, rec := range r.requests {
		if err := put(fmt.Sprintf("requests/%d.json", n), rec); err != nil {
			return nil, err
		}
	}
	for n, rec := range r.issues {
		if err := put(fmt.Sprintf("issues/%d.json", n), rec); err != nil {
			return nil, err
		}
	}
	for sha, list := range r.statuses {
		if err := put("statuses/"+sha+".json", list); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// load reads the records as the remote has them now.
func (f *Forge) load(ctx context.Context) (*records, map[string][]byte, string, error) {
	sha, err := f.m.SyncRef(ctx, Ref)
	if err != nil {
		return nil, nil, "", err
	}
	files := map[string][]byte{}
	if sha != "" {
		if files, err = f.m.Files(sha); err != nil {
			return nil, nil, "", err
		}
	}
	r, err := decode(files)
	return r, files, sha, err
}

// update applies change to the records and pushes them with a lease on the ref as read; when
// another writer moved the ref first, it reads again and applies change again, up to
// Options.Retries times. A change that leaves the records as they were writes nothing. An error
// from change is returned as it is.
func (f *Forge) update(ctx context.Context, what string, change func(*records) error) error {
	for attempt := 0; ; attempt++ {
		r, before, parent, err := f.load(ctx)
		if err != nil {
			return err
		}
		if err := change(r); err != nil {
			return err
		}
		after, err := r.encode()
		if err != nil {
			return err
		}
		if maps.EqualFunc(before, after, bytes.Equal) {
			return nil
		}
		var parents []string
		if parent != "" {
			parents = []string{parent}
		}
		sha, err := f.m.WriteCommit(ctx, gitsource.NewCommit{
			Files: after, Parents: parents, Message: what + "\n",
			Author: gitsource.Signature{Name: f.opts.Actor, Email: f.opts.Email, When: f.now()},
		})
		if err != nil {
			return err
		}
		err = f.m.PushRef(ctx, Ref, sha, parent)
		var lease *gitsource.LeaseError
		if errors.As(err, &lease) && attempt < f.opts.Retries && ctx.Err() == nil {
			f.opts.Log.DebugContext(ctx, "local forge: another writer moved the records first; applying the change again", "change", what)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// NotFoundError is a request or issue number the records do not hold.
type NotFoundError struct {
	Number int
	What   string // "request", "issue", "request or issue"
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no %s #%d in %s: list them with stagegate requests --all", e.What, e.Number, Ref)
}

func (r *records) request(n int) (*requestRecord, error) {
	rec, ok := r.requests[n]
	if !ok {
		return nil, &NotFoundError{Number: n, What: "request"}
	}
	return rec, nil
}

func appendNew(have []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(have, a) {
			have = append(have, a)
		}
	}
	return have
}
