package gitsourcetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Deleted, as a file's content in Commit, deletes the file.
const Deleted = "\x00deleted"

// symlinkPrefix marks a file's content as a symlink target (see Symlink).
const symlinkPrefix = "\x00symlink:"

// gitlinkPrefix marks a file's content as a submodule commit (see Gitlink).
const gitlinkPrefix = "\x00gitlink:"

// Gitlink, as a file's content in NewRepo or Commit, makes the path a submodule pointing at the
// commit sha of another repository (the submodule itself is not created).
func Gitlink(sha string) string { return gitlinkPrefix + sha }

// Symlink, as a file's content in NewRepo or Commit, makes the file a symlink to target.
func Symlink(target string) string { return symlinkPrefix + target }

// Epoch is the author and committer date of a repository's first commit; each later commit in
// the same repository is one minute later, so shas depend only on what the test commits.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Author and committer of every commit.
const (
	AuthorName  = "Stagegate Test"
	AuthorEmail = "test@stagegate.dev"
)

// NewRepo creates a bare repository at <t.TempDir()>/repo.git and returns its path. Each branch
// gets one root commit (message "init <branch>") holding the given files (path → content; see
// Symlink). HEAD points at the first branch by name. Branches are created in name order, so the
// shas are the same on every run.
func NewRepo(t testing.TB, branches map[string]map[string]string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo.git")
	Git(t, "", "init", "--quiet", "--bare", repo)
	names := make([]string, 0, len(branches))
	for b := range branches {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		Commit(t, repo, b, branches[b], "init "+b)
	}
	if len(names) > 0 {
		Git(t, repo, "symbolic-ref", "HEAD", "refs/heads/"+names[0])
	}
	return repo
}

// Commit adds a commit to branch in the bare repository repo and returns its sha. files maps
// paths to new contents (Deleted removes a file, Symlink makes a link); other files stay as
// they are; Gitlink records a submodule. A branch that does not exist yet starts with a root commit.
func Commit(t testing.TB, repo, branch string, files map[string]string, message string) string {
	t.Helper()
	index := filepath.Join(t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + index}
	parent := strings.TrimSpace(gitEnv(t, repo, env, "", true, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}"))
	if parent != "" {
		gitEnv(t, repo, env, "", false, "read-tree", parent)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		content := files[p]
		if content == Deleted {
			// Mode 0 removes the entry; --force-remove would want a work tree.
			gitEnv(t, repo, env, "0 0000000000000000000000000000000000000000\t"+p+"\n", false, "update-index", "--index-info")
			continue
		}
		if sha, ok := strings.CutPrefix(content, gitlinkPrefix); ok {
			gitEnv(t, repo, env, "", false, "update-index", "--add", "--cacheinfo", "160000,"+sha+","+p)
			continue
		}
		mode := "100644"
		if target, ok := strings.CutPrefix(content, symlinkPrefix); ok {
			mode, content = "120000", target
		}
		blob := strings.TrimSpace(gitEnv(t, repo, env, content, false, "hash-object", "-w", "--stdin"))
		gitEnv(t, repo, env, "", false, "update-index", "--add", "--cacheinfo", mode+","+blob+","+p)
	}
	tree := strings.TrimSpace(gitEnv(t, repo, env, "", false, "write-tree"))

	n, err := strconv.Atoi(strings.TrimSpace(Git(t, repo, "rev-list", "--all", "--count")))
	if err != nil {
		t.Fatalf("count commits: %v", err)
	}
	date := Epoch.Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
	env = append(env, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	args := []string{"commit-tree", tree, "-m", message}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	sha := strings.TrimSpace(gitEnv(t, repo, env, "", false, args...))
	update := []string{"update-ref", "refs/heads/" + branch, sha}
	if parent != "" {
		update = append(update, parent)
	}
	Git(t, repo, update...)
	return sha
}

// Branch creates (or moves) branch to point at rev.
func Branch(t testing.TB, repo, branch, rev string) {
	t.Helper()
	Git(t, repo, "update-ref", "refs/heads/"+branch, Head(t, repo, rev))
}

// Head returns the full sha that rev (a branch or any git revision) names in repo.
func Head(t testing.TB, repo, rev string) string {
	t.Helper()
	return strings.TrimSpace(Git(t, repo, "rev-parse", "--verify", rev+"^{commit}"))
}

// Git runs git with the given arguments in the bare repository repo ("" for none) and returns
// its standard output; a failure fails the test. Global and system git config are ignored.
func Git(t testing.TB, repo string, args ...string) string {
	t.Helper()
	return gitEnv(t, repo, nil, "", false, args...)
}

func gitEnv(t testing.TB, repo string, env []string, stdin string, mayFail bool, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME="+AuthorName, "GIT_AUTHOR_EMAIL="+AuthorEmail,
		"GIT_COMMITTER_NAME="+AuthorName, "GIT_COMMITTER_EMAIL="+AuthorEmail,
		"GIT_AUTHOR_DATE="+Epoch.Format(time.RFC3339), "GIT_COMMITTER_DATE="+Epoch.Format(time.RFC3339),
	)
	if repo != "" {
		cmd.Env = append(cmd.Env, "GIT_DIR="+repo)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil && !mayFail {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// Merge merges rev into branch of the bare repository repo with a merge commit (first parent
// branch's head, second parent rev), as a forge's merge button does, dated like Commit's
// commits, and returns its sha. A conflict fails the test.
func Merge(t testing.TB, repo, branch, rev, message string) string {
	t.Helper()
	parent, second := Head(t, repo, branch), Head(t, repo, rev)
	tree, _, _ := strings.Cut(Git(t, repo, "merge-tree", "--write-tree", parent, second), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(Git(t, repo, "rev-list", "--all", "--count")))
	if err != nil {
		t.Fatalf("count commits: %v", err)
	}
	date := Epoch.Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
	env := []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}
	sha := strings.TrimSpace(gitEnv(t, repo, env, "", false, "commit-tree", strings.TrimSpace(tree), "-p", parent, "-p", second, "-m", message))
	Git(t, repo, "update-ref", "refs/heads/"+branch, sha, parent)
	return sha
}
