package probe

import (
	"context"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

// Promotion is the promotion context an external gate receives: the JSON body of the POST,
// the contract docs/gates.md describes.
type Promotion struct {
	// Gate is the external gate's name.
	Gate     string `json:"gate"`
	Pipeline string `json:"pipeline"`
	// Source is the environment promoted from and the commit promoted.
	Source Ref `json:"source"`
	// Target is the environment promoted into and its head before the promotion.
	Target Ref `json:"target"`
	// PromotionCommit is the commit the request merges, on which statuses are posted.
	PromotionCommit string `json:"promotionCommit"`
	// RenderedDigest is the digest of the target's rendering after the promotion.
	RenderedDigest string `json:"renderedDigest"`
	// Images are the container images of the rendered objects, sorted, each once.
	Images []string `json:"images"`
	// Request is the promotion request, when one is open.
	Request *Request `json:"request,omitempty"`
}

// Ref is an environment, its branch and a commit on it.
type Ref struct {
	Environment string `json:"environment"`
	Branch      string `json:"branch"`
	SHA         string `json:"sha"`
}

// Request is a promotion request.
type Request struct {
	Number int    `json:"number"`
	URL    string `json:"url,omitempty"`
}

// External POSTs the promotion context to the gate's service and returns its verdict.
func External(ctx context.Context, g config.ExternalGate, p Promotion, opts Options) *gates.ExternalFacts {
	return &gates.ExternalFacts{}
}
