package probe

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

// Promotion is the promotion context an external gate receives: the JSON body of the POST,
// the contract docs/gates.md describes.
type Promotion struct {
	// Gate is the external gate's name. External sets it.
	Gate string `json:"gate"`
	// DeliveryID is the same for every POST about the same promotion commit to the same gate
	// (see DeliveryID): a service answers a repeated one from what it already knows. External
	// sets it.
	DeliveryID string `json:"deliveryId"`
	// SentAt is when the POST was sent, to the second (RFC 3339). External sets it.
	SentAt   time.Time `json:"sentAt"`
	Pipeline string    `json:"pipeline"`
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

// Headers of an external gate's POST.
const (
	SignatureHeader = "X-Stagegate-Signature-256"
	DeliveryHeader  = "X-Stagegate-Delivery"
	GateHeader      = "X-Stagegate-Gate"
)

// Bounds of the retryAfter a service asks for.
const (
	minRetryAfter     = 5 * time.Second
	maxRetryAfter     = time.Hour
	defaultRetryAfter = 30 * time.Second
)

// DeliveryID identifies the POSTs about one promotion commit to one gate: the first 32 hex
// digits of SHA-256 over the gate's name, a NUL and the commit.
func DeliveryID(gate, promotionCommit string) string {
	sum := sha256.Sum256([]byte(gate + "\x00" + promotionCommit))
	return hex.EncodeToString(sum[:16])
}

// Sign is the X-Stagegate-Signature-256 header of body: "sha256=" and the hex HMAC-SHA256 of
// the exact body bytes with key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// External POSTs the promotion context to the gate's service and returns its verdict. It sets
// p's Gate, DeliveryID and SentAt. Whatever goes wrong is in the facts' Err, sorted: Refused
// (fix the key, the URL or the service), Unreachable and Timeout (asked again later),
// BadAnswer (the answer is not the contract's).
func External(ctx context.Context, g config.ExternalGate, p Promotion, opts Options) *gates.ExternalFacts {
	now := opts.now()
	key, err := secret(g, opts)
	if err != nil {
		return failed(gates.ProbeRefused, "%v", err)
	}
	p.Gate = g.Name
	p.DeliveryID = DeliveryID(g.Name, p.PromotionCommit)
	p.SentAt = now.UTC().Truncate(time.Second)
	if p.Images == nil {
		p.Images = []string{}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return failed(gates.ProbeRefused, "encode the promotion: %v", err)
	}
	client, err := opts.clientFor(g.CAFile)
	if err != nil {
		return failed(gates.ProbeRefused, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, g.TimeoutOr())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return failed(gates.ProbeRefused, "%s is not a URL a request can go to; fix url", shown(g.URL))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "stagegate")
	req.Header.Set(SignatureHeader, Sign(key, body))
	req.Header.Set(DeliveryHeader, p.DeliveryID)
	req.Header.Set(GateHeader, g.Name)

	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return failed(gates.ProbeTimeout, "%s did not answer within %s; make the service answer 202 at once and post its verdict as a status, or raise timeout", shown(g.URL), g.TimeoutOr())
		}
		return failed(gates.ProbeUnreachable, "%s: %v", shown(g.URL), rootCause(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return failed(gates.ProbeTimeout, "%s did not finish its answer within %s", shown(g.URL), g.TimeoutOr())
		}
		return failed(gates.ProbeUnreachable, "%s: reading the answer: %v", shown(g.URL), err)
	}
	status := fmt.Sprintf("%d %s from %s", resp.StatusCode, http.StatusText(resp.StatusCode), shown(g.URL))
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		return readVerdict(g, b, resp.Header, now)
	case code == http.StatusAccepted:
		return &gates.ExternalFacts{Verdict: gates.Pending, From: "response", Summary: "the service accepted the request; its verdict comes later",
			RetryAfter: now.Add(retryAfter(resp.Header.Get("Retry-After"), nil, now))}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return failed(gates.ProbeRefused, "%s%s; check that the key in %s is the one the service verifies signatures with", status, excerpt(b), secretSource(g))
	case code == http.StatusTooManyRequests || code >= 500:
		return failed(gates.ProbeUnreachable, "%s%s", status, excerpt(b))
	case code >= 300 && code < 400:
		return failed(gates.ProbeRefused, "%s to %s; redirects are not followed: set url to the address that answers", status, shown(resp.Header.Get("Location")))
	case code >= 400:
		return failed(gates.ProbeRefused, "%s%s; check url and the service's logs for delivery %s", status, excerpt(b), p.DeliveryID)
	}
	return failed(gates.ProbeBadAnswer, "%s; want 200 with a verdict or 202", status)
}

// answer is the JSON a service answers a POST with (a 200).
type answer struct {
	Verdict    string          `json:"verdict"`
	Summary    string          `json:"summary"`
	RetryAfter json.RawMessage `json:"retryAfter"`
	Findings   []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Message  string `json:"message"`
		Object   *struct {
			Kind      string `json:"kind"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"object"`
		Fix string `json:"fix"`
	} `json:"findings"`
	URL string `json:"url"`
}

// findingID is the id of a service's finding, the part after "<gate>/" of its check.
var findingID = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// readVerdict reads a 200's body.
func readVerdict(g config.ExternalGate, b []byte, h http.Header, now time.Time) *gates.ExternalFacts {
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return failed(gates.ProbeBadAnswer, "the answer of %s is not the contract's JSON: %v", shown(g.URL), err)
	}
	f := &gates.ExternalFacts{From: "response", Summary: oneLine(a.Summary), URL: a.URL}
	switch a.Verdict {
	case "pass":
		f.Verdict = gates.Pass
	case "fail":
		f.Verdict = gates.Fail
	case "pending":
		f.Verdict = gates.Pending
		f.RetryAfter = now.Add(retryAfter(h.Get("Retry-After"), a.RetryAfter, now))
	default:
		return failed(gates.ProbeBadAnswer, "the answer of %s has verdict %q; want pass, fail or pending", shown(g.URL), a.Verdict)
	}
	for i, af := range a.Findings {
		if !findingID.MatchString(af.ID) || len(af.ID) > 63 {
			return failed(gates.ProbeBadAnswer, "the answer of %s: findings[%d].id %q: want lowercase letters, digits and '-', like critical-cve", shown(g.URL), i, af.ID)
		}
		sev := gates.Severity(af.Severity)
		switch sev {
		case "":
			sev = config.SeverityError
		case config.SeverityError, config.SeverityWarning, config.SeverityInfo:
		default:
			return failed(gates.ProbeBadAnswer, "the answer of %s: findings[%d].severity %q: want error, warning or info", shown(g.URL), i, af.Severity)
		}
		fd := gates.Finding{Check: g.Name + "/" + af.ID, Severity: sev, Message: oneLine(af.Message), Fix: af.Fix}
		if o := af.Object; o != nil {
			fd.Object = gates.ObjectRef{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
		}
		f.Findings = append(f.Findings, fd)
	}
	return f
}

// retryAfter is how long to wait before asking again: the answer's retryAfter ("30s" or a
// number of seconds), else the Retry-After header (seconds or an HTTP date), else 30s; at
// least 5s and at most 1h.
func retryAfter(header string, body json.RawMessage, now time.Time) time.Duration {
	d := defaultRetryAfter
	var s string
	var secs float64
	switch {
	case len(body) > 0 && json.Unmarshal(body, &s) == nil:
		if v, err := time.ParseDuration(s); err == nil {
			d = v
		} else if v, err := strconv.ParseFloat(s, 64); err == nil {
			d = time.Duration(v * float64(time.Second))
		}
	case len(body) > 0 && json.Unmarshal(body, &secs) == nil:
		d = time.Duration(secs * float64(time.Second))
	case header != "":
		if v, err := strconv.Atoi(strings.TrimSpace(header)); err == nil {
			d = time.Duration(v) * time.Second
		} else if t, err := http.ParseTime(header); err == nil {
			d = t.Sub(now)
		}
	}
	return min(max(d, minRetryAfter), maxRetryAfter)
}

// secret reads the gate's HMAC key.
func secret(g config.ExternalGate, opts Options) ([]byte, error) {
	if g.SecretFile != "" {
		b, err := os.ReadFile(opts.resolve(g.SecretFile))
		if err != nil {
			return nil, fmt.Errorf("read secretFile: %w; write the gate's HMAC key in it", err)
		}
		key := bytes.TrimSpace(b)
		if len(key) == 0 {
			return nil, fmt.Errorf("secretFile %s is empty; write the gate's HMAC key in it", g.SecretFile)
		}
		return key, nil
	}
	key := opts.getenv(g.SecretEnv)
	if key == "" {
		return nil, fmt.Errorf("the environment variable %s is not set; set it to the gate's HMAC key", g.SecretEnv)
	}
	return []byte(key), nil
}

func secretSource(g config.ExternalGate) string {
	if g.SecretFile != "" {
		return "secretFile " + g.SecretFile
	}
	return "secretEnv " + g.SecretEnv
}

func failed(kind gates.ProbeErrorKind, format string, args ...any) *gates.ExternalFacts {
	return &gates.ExternalFacts{Err: &gates.ProbeError{Kind: kind, Message: fmt.Sprintf(format, args...)}}
}

// excerpt is the start of an error answer's body, for the message: ": <first line>".
func excerpt(b []byte) string {
	s := oneLine(string(b))
	if s == "" {
		return ""
	}
	return ": " + s
}

// oneLine is s's first line, at most 140 characters (what a commit status's description holds).
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 140 {
		r := []rune(s)
		s = string(r[:139]) + "…"
	}
	return s
}
