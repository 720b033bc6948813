package gates

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// Plain-text credentials are found two ways: by the name they are stored under (PASSWORD,
// TOKEN, SECRET, API_KEY, …), and by the value itself (private key blocks, credentials in URLs,
// well-known token formats, and long random-looking strings). Both ways skip values that cannot
// be credentials — references like $(VAR) or ${VAR}, file paths, numbers and booleans — so that
// DB_PASSWORD_FILE=/run/secrets/db or TOKEN_TTL=3600 pass.

// sensitiveNameParts mark a name as holding a credential (upper case, matched anywhere).
var sensitiveNameParts = []string{
	"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY",
	"ACCESS_KEY", "CREDENTIAL", "BEARER", "AUTH_KEY", "SIGNING_KEY", "ENCRYPTION_KEY",
	"CONNECTION_STRING", "OCI_CLI_KEY_CONTENT",
}

// innocentNameSuffixes mark a sensitive-looking name as holding something else: where the
// credential is, what it is called, or how it behaves.
var innocentNameSuffixes = []string{
	"_FILE", "_ENV", "_PATH", "_DIR", "_NAME", "_REF", "_ID", "_URL", "_URI", "_ENDPOINT", "_TTL",
	"_EXPIRY", "_EXPIRATION", "_TIMEOUT", "_LENGTH", "_HEADER", "_ENABLED", "_TYPE", "_MOUNT",
	"_LOCATION", "_KEY_REF", "_SECONDS", "_LIFETIME", "_ALGORITHM", "_POLICY", "_SIZE", "_FORMAT",
}

// secSensitiveName reports whether a variable or key name says it holds a credential.
func secSensitiveName(name string) bool {
	n := secFoldName(name)
	hit := false
	for _, p := range sensitiveNameParts {
		if strings.Contains(n, p) {
			hit = true
			break
		}
	}
	if !hit && !(strings.HasPrefix(n, "AZURE_") && strings.HasSuffix(n, "KEY")) {
		return false
	}
	for _, s := range innocentNameSuffixes {
		if strings.HasSuffix(n, s) {
			return false
		}
	}
	return true
}

// secFoldName upper-cases a name, turns '-' and '.' into '_' and splits camelCase words
// ("db.password" → "DB_PASSWORD", "tokenEnv" → "TOKEN_ENV"), without allocating when it is
// already folded.
func secFoldName(name string) string {
	for i := 0; i < len(name); i++ {
		if b := name[i]; b >= 'a' && b <= 'z' || b == '-' || b == '.' {
			buf := make([]byte, 0, len(name)+4)
			for j := 0; j < len(name); j++ {
				switch c := name[j]; {
				case c >= 'a' && c <= 'z':
					buf = append(buf, c-'a'+'A')
				case c >= 'A' && c <= 'Z' && j > 0 && (name[j-1] >= 'a' && name[j-1] <= 'z' || name[j-1] >= '0' && name[j-1] <= '9'):
					buf = append(buf, '_', c)
				case c == '-' || c == '.':
					buf = append(buf, '_')
				default:
					buf = append(buf, c)
				}
			}
			return string(buf)
		}
	}
	return name
}

// secInnocentValue reports whether a value cannot be a credential whatever its name.
func secInnocentValue(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 4 {
		return true // "", "-", "x", "***": placeholders, not credentials
	}
	if strings.Contains(v, "$(") || strings.Contains(v, "${") || strings.Contains(v, "{{") {
		return true // a reference expanded elsewhere
	}
	if v[0] == '/' || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "file:") {
		return true
	}
	if v[0] == '<' && v[len(v)-1] == '>' {
		return true // <changeme>
	}
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no", "null", "none", "nil", "enabled", "disabled", "redacted":
		return true
	}
	if b := v[0]; b >= '0' && b <= '9' || b == '-' || b == '+' || b == '.' {
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return true
		}
	}
	return false
}

// secSecretLike says why a value stored under name looks like a plain-text credential, or "" when
// it does not. The reason never repeats the value.
func secSecretLike(name, value string) string {
	if value == "" {
		return ""
	}
	if why := secSecretValue(value); why != "" {
		return why
	}
	if secSensitiveName(name) && !secInnocentValue(value) {
		return "a plain-text value (the name says it is a credential)"
	}
	return ""
}

// tokenPrefixes start well-known credential formats.
var tokenPrefixes = []struct{ prefix, what string }{
	{"ghp_", "a GitHub token"}, {"gho_", "a GitHub token"}, {"ghu_", "a GitHub token"},
	{"ghs_", "a GitHub token"}, {"ghr_", "a GitHub token"}, {"github_pat_", "a GitHub token"},
	{"glpat-", "a GitLab token"}, {"xoxb-", "a Slack token"}, {"xoxp-", "a Slack token"},
	{"xoxa-", "a Slack token"}, {"xapp-", "a Slack token"}, {"sk_live_", "a Stripe key"},
	{"rk_live_", "a Stripe key"}, {"AKIA", "an AWS access key"}, {"ASIA", "an AWS access key"},
	{"AIza", "a Google API key"}, {"sk-", "an API key"}, {"npm_", "an npm token"},
	{"hvs.", "a Vault token"}, {"dop_v1_", "a DigitalOcean token"},
}

// secSecretValue says why a value looks like a credential on its own, or "".
func secSecretValue(v string) string {
	if len(v) < 16 {
		return ""
	}
	if strings.Contains(v, "-----BEGIN") && strings.Contains(v, "PRIVATE KEY") {
		return "a private key"
	}
	if secURLHasPassword(v) {
		return "a URL with a password"
	}
	for _, t := range tokenPrefixes {
		if strings.HasPrefix(v, t.prefix) && len(v) >= len(t.prefix)+16 && secTokenChars(v[len(t.prefix):]) {
			return t.what
		}
	}
	if strings.HasPrefix(v, "eyJ") && strings.Count(v, ".") == 2 && len(v) > 40 && secTokenChars(strings.ReplaceAll(v, ".", "")) {
		return "a JSON Web Token"
	}
	if secHighEntropy(v) {
		return "a random-looking string (high entropy)"
	}
	return ""
}

// secURLHasPassword reports whether v contains scheme://user:password@host with a literal password.
func secURLHasPassword(v string) bool {
	i := strings.Index(v, "://")
	if i < 0 {
		return false
	}
	rest := v[i+3:]
	if end := strings.IndexAny(rest, "/?# \n"); end >= 0 {
		rest = rest[:end]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return false
	}
	_, pass, ok := strings.Cut(rest[:at], ":")
	return ok && pass != "" && !secInnocentValue(pass+"xxxx") && !strings.HasPrefix(pass, "$")
}

// secTokenChars reports whether s uses only the characters of base64, base64url and common token
// alphabets.
func secTokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

// Entropy thresholds. A random base64 string of n characters has a Shannon entropy close to
// log2(min(n, 64)) bits per character, and about 40% of its characters are upper case and 40%
// lower case. Identifiers, hostnames, versions and camel-case names are mostly lower case and
// stay further below that entropy; hex strings (commit SHAs, UUIDs, checksums: common and
// harmless in manifests) have no upper case at all. Words, even run together in camel case
// (HikariPoolMaximumSize20), are about 40% vowels (rarely under a third); random letters are 10 vowels in 52, about 19%.
// So a value is flagged when it is a single token of at least minEntropyLength token characters,
// with digits, at least minCaseShare of upper and of lower case letters, fewer than maxVowelShare
// vowels among its letters, and entropy at least entropyRatio of the maximum its length allows.
// Random base64 tokens of 32 characters or more are caught about 96% of the time (99% from 43);
// TestSecretDetection holds the ordinary values these were tuned against.
const (
	minEntropyLength = 20
	maxEntropyLength = 512
	minCaseShare     = 0.2
	maxVowelShare    = 0.36
	entropyRatio     = 0.8
)

func secHighEntropy(v string) bool {
	if len(v) < minEntropyLength || len(v) > maxEntropyLength || !secTokenChars(v) {
		return false
	}
	var upper, lower, digit, vowels int
	var counts [256]uint16
	for i := 0; i < len(v); i++ {
		b := v[i]
		counts[b]++
		switch b | 0x20 {
		case 'a', 'e', 'i', 'o', 'u':
			vowels++
		}
		switch {
		case b >= 'A' && b <= 'Z':
			upper++
		case b >= 'a' && b <= 'z':
			lower++
		case b >= '0' && b <= '9':
			digit++
		}
	}
	minCase := int(minCaseShare * float64(len(v)))
	if upper < minCase || lower < minCase || digit == 0 || float64(vowels) >= maxVowelShare*float64(upper+lower) {
		return false
	}
	return secShannon(counts[:], len(v)) >= entropyRatio*math.Log2(math.Min(float64(len(v)), 64))
}

// secShannon is the Shannon entropy in bits per character of a string with the given byte counts.
func secShannon(counts []uint16, n int) float64 {
	var h float64
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// secret fails Secrets whose data is in the manifest in clear. SOPS-encrypted Secrets (a sops
// block, values ENC[…]) pass: what is in Git is ciphertext.
func (e *secEval) secret() {
	c := e.obj.Content
	if _, sops := c["sops"].(map[string]any); sops {
		return
	}
	for _, field := range [...]string{"data", "stringData"} {
		data := secMap(c, field)
		var keys []string
		for k, v := range data {
			if s, _ := v.(string); s != "" && !strings.HasPrefix(s, "ENC[") {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			continue
		}
		sort.Strings(keys)
		e.add(checkSecretInClear, field, "Secret holds "+strconv.Itoa(len(keys))+" value(s) in clear text in "+field+" ("+strings.Join(keys, ", ")+")")
	}
}

// configMap looks for credentials in ConfigMap data: each key and value, and in multi-line
// values (config files) each "key = value" or "key: value" line.
func (e *secEval) configMap() {
	data := secMap(e.obj.Content, "data")
	if len(data) == 0 {
		return
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := data[k].(string)
		path := "data." + k
		if !secSimpleKey(k) {
			path = "data[" + strconv.Quote(k) + "]"
		}
		if !strings.Contains(v, "\n") {
			if why := secSecretLike(k, v); why != "" {
				e.add(checkConfigMapSecret, path, "key "+k+" holds "+why)
			}
			continue
		}
		if why := secSecretValue(v); why == "a private key" {
			e.add(checkConfigMapSecret, path, "key "+k+" holds "+why)
			continue
		}
		for n, line := range strings.Split(v, "\n") {
			lk, lv, ok := secConfigLine(line)
			if !ok {
				continue
			}
			if why := secSecretLike(lk, lv); why != "" {
				e.add(checkConfigMapSecret, path, "key "+k+", line "+strconv.Itoa(n+1)+" ("+lk+") holds "+why)
			}
		}
	}
}

// secConfigLine splits "key = value", "key: value" and "export KEY=value" lines; comments and
// lines without a value are not split.
func secConfigLine(line string) (key, value string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' || line[0] == ';' || strings.HasPrefix(line, "//") {
		return "", "", false
	}
	line = strings.TrimPrefix(line, "export ")
	i := strings.IndexAny(line, "=:")
	if i <= 0 {
		return "", "", false
	}
	key = strings.Trim(strings.TrimSpace(line[:i]), `"'`)
	value = strings.Trim(strings.TrimSpace(line[i+1:]), `"',`)
	if key == "" || value == "" || strings.ContainsAny(key, " \t") {
		return "", "", false
	}
	return key, value, true
}

func secSimpleKey(k string) bool {
	for i := 0; i < len(k); i++ {
		b := k[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-') {
			return false
		}
	}
	return k != ""
}
