package github

import (
	"context"
	"errors"
	"net/http"

	gh "github.com/google/go-github/v60/github"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Merge merges a pull request with opts.Method, guarded by opts.SHA, and returns the commit it
// made on the base. GitHub's 409 (the head is no longer opts.SHA) is a *gitsource.HeadMovedError,
// its 405 (conflicts, branch protection, a required check) a *gitsource.NotMergeableError with
// GitHub's message.
//
// A merge is not repeated blindly: when GitHub fails (5xx) or does not answer, Merge reads the
// pull request first, and a request already merged at opts.SHA is the success it was.
func (f *Forge) Merge(ctx context.Context, number int, opts gitsource.MergeOptions) (string, error) {
	what := op("merge #%d", number)
	po := &gh.PullRequestOptions{SHA: opts.SHA, MergeMethod: string(opts.Method)}
	if opts.Method != "rebase" {
		po.CommitTitle = opts.Title
	}
	message := opts.Message
	if opts.Method == "rebase" {
		message = ""
	}
	for attempt := 0; ; attempt++ {
		res, _, err := f.client.PullRequests.Merge(repeatable(ctx, false), f.owner, f.repo, number, message, po)
		if err == nil {
			return res.GetSHA(), nil
		}
		switch status(err) {
		case http.StatusConflict:
			return "", &gitsource.HeadMovedError{Number: number, SHA: opts.SHA}
		case http.StatusMethodNotAllowed:
			var er *gh.ErrorResponse
			errors.As(err, &er)
			return "", &gitsource.NotMergeableError{Number: number, Reason: er.Message}
		}
		err = f.classify(what, err)
		var unavailable *UnavailableError
		if !errors.As(err, &unavailable) || attempt >= f.tr.retries || ctx.Err() != nil {
			return "", err
		}
		pr, gerr := f.Request(ctx, number)
		if gerr == nil && pr.Merged && pr.HeadSHA == opts.SHA {
			f.log.InfoContext(ctx, "github: the merge went through although GitHub failed to say so", "pr", number, "sha", opts.SHA)
			return pr.MergeSHA, nil
		}
		if gerr == nil && pr.State == gitsource.RequestClosed {
			return "", &gitsource.NotMergeableError{Number: number, Reason: "closed while merging"}
		}
		f.log.WarnContext(ctx, "github: merging failed; retrying", "pr", number, "err", err)
		if err := f.tr.sleep(ctx, backoff(attempt, writeRetryBackoff)); err != nil {
			return "", err
		}
	}
}
