package leakcheck

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
)

// PieceLen is the length of the pieces looked for: a secret or token leaks
// when any PieceLen consecutive bytes of it appear in the text.
const PieceLen = 8

// Find returns the first piece of any secret that occurs in text. Secrets
// shorter than PieceLen are looked for whole; empty ones are ignored.
func Find(text string, secrets ...string) (piece string, found bool) {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if len(s) < PieceLen {
			if strings.Contains(text, s) {
				return s, true
			}
			continue
		}
		for i := 0; i+PieceLen <= len(s); i++ {
			if p := s[i : i+PieceLen]; strings.Contains(text, p) {
				return p, true
			}
		}
	}
	return "", false
}

// PEMBody returns the base64 material of PEM text without its armor lines
// ("-----BEGIN …-----"), joined into one string: what Find must look for
// to catch a private key or certificate quoted in a message, since the
// armor lines are the same in every key.
func PEMBody(pem string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(pem, "\n") {
		if !strings.HasPrefix(line, "-----") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// Encodings returns secret in every form a token request can carry it:
// as is; form-urlencoded (a form body, and each half of the Basic pair);
// JSON-escaped as encoding/json writes it (a JSON body); and the Base64 of
// the Basic pair clientID:secret, with each half form-urlencoded first as
// RFC 6749 section 2.3.1 says and without. Find them all to check that a
// secret an endpoint echoed back was removed in every form.
func Encodings(clientID, secret string) []string {
	escaped, _ := json.Marshal(secret)
	return []string{
		secret,
		url.QueryEscape(secret),
		string(escaped[1 : len(escaped)-1]),
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID) + ":" + url.QueryEscape(secret))),
		base64.StdEncoding.EncodeToString([]byte(clientID + ":" + secret)),
	}
}
