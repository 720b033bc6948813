package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

// HTTP sends the gate's requests to its targets and returns what they answered: for each target
// in config order, exactly RequestsOr() requests, one after the other, each bounded by
// TimeoutOr(), so a target takes requests × timeout at most. It sends nothing anywhere but the
// targets' URLs: redirects are answers, not followed.
//
// When ctx ends, it stops sending: the targets not finished have fewer samples than requests
// (or none), and the facts should be dropped rather than judged.
func HTTP(ctx context.Context, g config.HTTPGate, opts Options) *gates.HTTPFacts {
	facts := &gates.HTTPFacts{At: opts.now()}
	client, clientErr := opts.clientFor(g.CAFile)
	n, timeout := g.RequestsOr(), g.TimeoutOr()
	for _, t := range g.Targets {
		tf := gates.HTTPTargetFacts{Name: t.Name, URL: t.URL}
		if clientErr != nil {
			// Nothing can be sent; one sample says why, and the gate fails until caFile is fixed.
			tf.Samples = []gates.HTTPSample{{Err: &gates.ProbeError{Kind: gates.ProbeRefused, Message: clientErr.Error()}}}
			facts.Targets = append(facts.Targets, tf)
			continue
		}
		var match *regexp.Regexp
		if t.BodyMatch != "" {
			// Validation compiled it already.
			match = regexp.MustCompile(t.BodyMatch)
		}
		tctx, cancel := context.WithTimeout(ctx, time.Duration(n)*timeout)
		for range n {
			if tctx.Err() != nil {
				break
			}
			tf.Samples = append(tf.Samples, send(tctx, client, t, match, timeout))
		}
		cancel()
		facts.Targets = append(facts.Targets, tf)
	}
	return facts
}

// send sends one request to t and reads at most maxBody of the answer.
func send(ctx context.Context, client *http.Client, t config.HTTPTarget, match *regexp.Regexp, timeout time.Duration) gates.HTTPSample {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if t.Body != "" {
		body = strings.NewReader(t.Body)
	}
	req, err := http.NewRequestWithContext(ctx, t.MethodOr(), t.URL, body)
	if err != nil {
		return gates.HTTPSample{Err: &gates.ProbeError{Kind: gates.ProbeRefused, Message: fmt.Sprintf("%s (%s): %v; fix the target's url or method", t.Name, shown(t.URL), rootCause(err))}}
	}
	req.Header.Set("User-Agent", "stagegate")
	for k, v := range t.Headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return gates.HTTPSample{Latency: time.Since(start), Err: noAnswer(t, err, timeout)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	latency := time.Since(start)
	if err != nil {
		return gates.HTTPSample{Status: 0, Latency: latency, Err: noAnswer(t, err, timeout)}
	}
	return gates.HTTPSample{Status: resp.StatusCode, Latency: latency, BodyMatched: match == nil || match.Match(b)}
}

// noAnswer sorts why a request got no answer: the timeout, or anything else (refused, no
// such host, a TLS error) that makes the target unreachable.
func noAnswer(t config.HTTPTarget, err error, timeout time.Duration) *gates.ProbeError {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &gates.ProbeError{Kind: gates.ProbeTimeout, Message: fmt.Sprintf("%s (%s) did not answer within %s", t.Name, shown(t.URL), timeout)}
	}
	// The URL is in the message once, without its query string.
	return &gates.ProbeError{Kind: gates.ProbeUnreachable, Message: fmt.Sprintf("%s (%s): %v", t.Name, shown(t.URL), rootCause(err))}
}
