package probe

import (
	"context"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

// HTTP sends the gate's requests to its targets and returns what they answered.
func HTTP(ctx context.Context, g config.HTTPGate, opts Options) *gates.HTTPFacts {
	return &gates.HTTPFacts{}
}
