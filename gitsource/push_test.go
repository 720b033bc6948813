package gitsource_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

const promoteBranch = "stagegate/promote/staging"

// remotes serves repo over each transport Push is tested on and returns its config per name.
func remotes(t *testing.T, repo string) map[string]config.Repo {
	t.Helper()
	base, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "", "")
	authed, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "x-access-token", "s3cret")
	key, pub := gitsourcetest.NewSSHKey(t, "")
	addr, hostKey := gitsourcetest.NewSSHServer(t, filepath.Dir(repo), pub)
	return map[string]config.Repo{
		"file":              {URL: "file://" + repo},
		"absolute path":     {URL: repo},
		"smart HTTP":        {URL: base + "/repo.git"},
		"smart HTTP, token": {URL: authed + "/repo.git", TokenEnv: "TOKEN"},
		"ssh": {URL: "ssh://git@" + addr + "/repo.git", SSHKeyFile: key,
			SSHKnownHostsFile: gitsourcetest.WriteKnownHosts(t, addr, hostKey)},
	}
}

// remoteHead is the remote's branch, "" when it has none.
func remoteHead(t *testing.T, repo, branch string) string {
	t.Helper()
	return strings.TrimSpace(gitsourcetest.Git(t, repo, "for-each-ref", "--format=%(objectname)", "refs/heads/"+branch))
}

// promotions writes n promotion commits of env/dev onto env/staging that differ only in their
// subjects.
func promotions(t *testing.T, m *gitsource.Mirror, n int) []string {
	t.Helper()
	dev, err := m.Resolve("env/dev")
	if err != nil {
		t.Fatal(err)
	}
	var shas []string
	for i := range n {
		sha, err := m.WritePromotion(context.Background(), gitsource.Promotion{
			Target: "env/staging", SourceBranch: "env/dev", SourceSHA: dev, Subject: fmt.Sprintf("Promote, take %d", i),
		})
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, sha)
	}
	return shas
}

func TestPushWithLease(t *testing.T) {
	ctx := context.Background()
	repo, _ := promotionRepo(t)
	for name, cfg := range remotes(t, repo) {
		t.Run(name, func(t *testing.T) {
			// Each transport works on its own promotion branch of the same remote.
			branch := promoteBranch + "-" + strings.ReplaceAll(name, " ", "")
			m := open(t, cfg, env{"TOKEN": "s3cret"}, nil)
			if _, err := m.Sync(ctx, []string{"env/dev", "env/staging"}); err != nil {
				t.Fatal(err)
			}
			shas := promotions(t, m, 3)

			if err := m.Push(ctx, branch, shas[0], ""); err != nil {
				t.Fatalf("push creating the branch: %v", err)
			}
			if got := remoteHead(t, repo, branch); got != shas[0] {
				t.Fatalf("remote %s = %q after the creating push, want %s", branch, got, shas[0])
			}
			if got, err := m.Resolve(branch); err != nil || got != shas[0] {
				t.Errorf("mirror's %s = %s, %v after the push, want %s", branch, got, err, shas[0])
			}
			fetches := m.Fetches()
			if heads, err := m.SyncOptional(ctx, []string{branch}); err != nil || heads[branch] != shas[0] || m.Fetches() != fetches {
				t.Errorf("SyncOptional after the push = %v, %v with %d fetches; want %s and no fetch", heads, err, m.Fetches()-fetches, shas[0])
			}

			if err := m.Push(ctx, branch, shas[1], shas[0]); err != nil {
				t.Fatalf("push with the right lease: %v", err)
			}
			if got := remoteHead(t, repo, branch); got != shas[1] {
				t.Fatalf("remote %s = %s after the update, want %s", branch, got, shas[1])
			}

			stale := []struct {
				name, sha, expect, actual string
			}{
				{"an expected head the branch has left", shas[2], shas[0], shas[1]},
				{"a branch expected not to exist", shas[2], "", shas[1]},
			}
			for _, s := range stale {
				err := m.Push(ctx, branch, s.sha, s.expect)
				var lease *gitsource.LeaseError
				if !errors.As(err, &lease) {
					t.Fatalf("%s: Push = %v, want a *LeaseError", s.name, err)
				}
				want := gitsource.LeaseError{URL: m.URL(), Branch: branch, Expected: s.expect, Actual: s.actual}
				if diff := cmp.Diff(want, *lease); diff != "" {
					t.Errorf("%s: LeaseError (-want +got):\n%s", s.name, diff)
				}
				if !strings.Contains(err.Error(), "someone else moved it; the next cycle re-plans") || !gitsource.IsTransient(err) {
					t.Errorf("%s: error %q (transient %v) should say someone moved the branch and be transient", s.name, err, gitsource.IsTransient(err))
				}
				if got := remoteHead(t, repo, branch); got != shas[1] {
					t.Errorf("%s: a refused push moved the remote to %s, want it left at %s", s.name, got, shas[1])
				}
				if got, _ := m.Resolve(branch); got != shas[1] {
					t.Errorf("%s: a refused push moved the mirror's copy to %s", s.name, got)
				}
			}

			var lease *gitsource.LeaseError
			if err := m.Push(ctx, branch+"-new", shas[2], shas[0]); !errors.As(err, &lease) || lease.Actual != "" {
				t.Errorf("push expecting a head on a branch the remote lacks = %v, want a *LeaseError with Actual \"\"", err)
			}
			if err := m.Push(ctx, branch, shas[1], shas[0]); err != nil {
				t.Errorf("pushing the commit the remote already has, with a stale lease = %v, want nil (nothing to do)", err)
			}
		})
	}
}

func TestPushRefuses(t *testing.T) {
	ctx := context.Background()
	repo, m := promotionRepo(t)
	shas := promotions(t, m, 1)
	tests := []struct {
		name, branch, sha, expect, want string
	}{
		{"a branch name git does not allow", "stagegate/promote/bad..name", shas[0], "", "not valid in git"},
		{"an empty branch name", "", shas[0], "", "not valid in git"},
		{"a short expected sha", promoteBranch, shas[0], shas[0][:7], "not a full sha"},
		{"a commit the mirror lacks", promoteBranch, "feedfacefeedfacefeedfacefeedfacefeedface", "", "not found in the mirror"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.Push(ctx, tt.branch, tt.sha, tt.expect); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Push error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if got := remoteHead(t, repo, promoteBranch); got != "" {
		t.Errorf("refused pushes created %s at %s", promoteBranch, got)
	}
}

func TestPushRefusedByTheRemote(t *testing.T) {
	ctx := context.Background()
	repo, m := promotionRepo(t)
	shas := promotions(t, m, 1)

	t.Run("a hook or branch protection", func(t *testing.T) {
		hook := filepath.Join(repo, "hooks", "pre-receive")
		if err := os.WriteFile(hook, []byte("#!/bin/sh\necho protected branch >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(hook)
		err := m.Push(ctx, promoteBranch, shas[0], "")
		if err == nil || errors.As(err, new(*gitsource.LeaseError)) || !strings.Contains(err.Error(), "check branch protection") {
			t.Errorf("Push refused by a hook = %v, want an error (not a *LeaseError) that says to check branch protection", err)
		}
		if _, err := m.Resolve(promoteBranch); err == nil {
			t.Errorf("a refused push created %s in the mirror", promoteBranch)
		}
	})
	t.Run("wrong credentials", func(t *testing.T) {
		authed, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "x-access-token", "s3cret")
		cfg, cache := config.Repo{URL: authed + "/repo.git", TokenEnv: "TOKEN"}, t.TempDir()
		m, err := gitsource.Open(ctx, cfg, options(t, cache, env{"TOKEN": "s3cret"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Sync(ctx, nil); err != nil {
			t.Fatal(err)
		}
		shas := promotions(t, m, 1)
		// The same mirror, opened with a token the server does not accept.
		if m, err = gitsource.Open(ctx, cfg, options(t, cache, env{"TOKEN": "wrong"}, nil)); err != nil {
			t.Fatal(err)
		}
		err = m.Push(ctx, promoteBranch, shas[0], "")
		if !errors.As(err, new(*gitsource.AuthError)) || strings.Contains(err.Error(), "wrong") {
			t.Errorf("Push with a wrong token = %v, want an *AuthError that does not print the token", err)
		}
	})
	if got := remoteHead(t, repo, promoteBranch); got != "" {
		t.Errorf("refused pushes created %s at %s", promoteBranch, got)
	}
}

// TestPushRace races pushes of different commits with the same lease, from one mirror shared by
// goroutines and from separate mirrors (two agents, each with its own cache): exactly one wins
// each round and every other gets a *LeaseError. Run it with -race.
func TestPushRace(t *testing.T) {
	ctx := context.Background()
	const rounds, racers = 4, 3
	for _, transport := range []string{"file", "smart HTTP", "ssh"} {
		for _, shared := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, shared mirror %v", transport, shared), func(t *testing.T) {
				repo, _ := promotionRepo(t)
				cfg := remotes(t, repo)[transport]
				mirrors := make([]*gitsource.Mirror, racers)
				shas := make([][]string, racers) // per racer, one commit per round
				for i := range mirrors {
					if i == 0 || !shared {
						mirrors[i] = open(t, cfg, nil, nil)
						if _, err := mirrors[i].Sync(ctx, nil); err != nil {
							t.Fatal(err)
						}
					} else {
						mirrors[i] = mirrors[0]
					}
				}
				all := promotions(t, mirrors[0], racers*rounds)
				for i := range mirrors {
					shas[i] = all[i*rounds : (i+1)*rounds]
					if mirrors[i] != mirrors[0] {
						promotions(t, mirrors[i], racers*rounds) // the same commits, written by this agent
					}
				}

				expect := ""
				for round := range rounds {
					errs := make([]error, racers)
					var wg sync.WaitGroup
					for i := range racers {
						wg.Go(func() { errs[i] = mirrors[i].Push(ctx, promoteBranch, shas[i][round], expect) })
					}
					wg.Wait()
					winner := -1
					for i, err := range errs {
						var lease *gitsource.LeaseError
						switch {
						case err == nil && winner >= 0:
							t.Fatalf("round %d: racers %d and %d both pushed with the lease %q", round, winner, i, expect)
						case err == nil:
							winner = i
						case !errors.As(err, &lease):
							t.Fatalf("round %d: racer %d: %v, want a *LeaseError", round, i, err)
						}
					}
					if winner < 0 {
						t.Fatalf("round %d: no racer won: %v", round, errs)
					}
					got := remoteHead(t, repo, promoteBranch)
					if got != shas[winner][round] {
						t.Fatalf("round %d: remote is at %s, want the winner's %s", round, got, shas[winner][round])
					}
					expect = got
				}
			})
		}
	}
}

func TestSyncOptional(t *testing.T) {
	ctx := context.Background()
	repo, m := promotionRepo(t)
	shas := promotions(t, m, 1)
	if err := m.Push(ctx, promoteBranch, shas[0], ""); err != nil {
		t.Fatal(err)
	}

	other := open(t, config.Repo{URL: "file://" + repo}, nil, nil)
	want := gitsource.Heads{"env/staging": gitsourcetest.Head(t, repo, "env/staging"), promoteBranch: shas[0]}
	heads, err := other.SyncOptional(ctx, []string{"env/staging", promoteBranch, "stagegate/promote/prod"})
	if err != nil {
		t.Fatalf("SyncOptional with a missing promotion branch: %v", err)
	}
	if diff := cmp.Diff(want, heads); diff != "" {
		t.Errorf("heads (-want +got):\n%s", diff)
	}
	if got, err := other.Resolve(promoteBranch); err != nil || got != shas[0] {
		t.Errorf("Resolve(%s) = %s, %v after SyncOptional, want %s", promoteBranch, got, err, shas[0])
	}
	var notFound *gitsource.BranchNotFoundError
	if _, err := other.Sync(ctx, []string{"stagegate/promote/prod"}); !errors.As(err, &notFound) {
		t.Errorf("Sync of a missing branch = %v, want a *BranchNotFoundError (only SyncOptional tolerates it)", err)
	}

	// The PR merged and its branch was deleted: the mirror forgets it too.
	gitsourcetest.Git(t, repo, "update-ref", "-d", "refs/heads/"+promoteBranch)
	heads, err = other.SyncOptional(ctx, []string{"env/staging", promoteBranch})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := heads[promoteBranch]; ok {
		t.Errorf("heads = %v, still holding the deleted %s", heads, promoteBranch)
	}
	var nf *gitsource.NotFoundError
	if _, err := other.Resolve(promoteBranch); !errors.As(err, &nf) {
		t.Errorf("Resolve(%s) after the remote deleted it = %v, want *NotFoundError", promoteBranch, err)
	}
}
