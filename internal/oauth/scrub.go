package oauth

import (
	"net/url"
	"strings"
)

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// redact removes the secrets (the client secret, the Basic credentials, the
// client assertion, each in every form the request carried it: see
// encoded.secrets), whole or any piece of them, from everything the
// endpoint sent back (error code, description, challenge scheme, and the
// Location, Content-Type, token_type or expires_in an error quotes), then
// shortens the code and description. An endpoint that echoes the secret
// cannot put it into an error.
func (e *Error) redact(secrets ...string) {
	all := func(s string) string {
		for _, secret := range secrets {
			s = scrub(s, secret)
		}
		return s
	}
	e.Code = truncate(all(e.Code), 64)
	e.Description = truncate(all(e.Description), 200)
	if all(e.Challenge) != e.Challenge {
		e.Challenge = "" // a scheme with a secret in it names no scheme
	}
	if e.Err != nil {
		if msg := e.Err.Error(); all(msg) != msg {
			e.Err = &scrubbed{msg: all(msg), err: e.Err}
		}
	}
}

// scrubbed is an error whose text had the client secret removed. It unwraps
// to the original, so errors.Is and errors.As still see the cause.
type scrubbed struct {
	msg string
	err error
}

// Error is the cause's message without the secrets.
func (s *scrubbed) Error() string { return s.msg }

// Unwrap returns the original cause.
func (s *scrubbed) Unwrap() error { return s.err }

// scrubPiece is the length of the pieces of a secret scrub removes: the
// same pieces leakcheck looks for in every test's logs and errors
// (TestScrubPieceMatchesLeakcheck keeps the two equal; leakcheck is a test
// helper and is not linked into the rotator).
const scrubPiece = 8

// scrub replaces every occurrence in s of the secret, or of any scrubPiece
// bytes of it, with "[redacted]". A secret shorter than scrubPiece is
// removed only whole.
func scrub(s, secret string) string {
	if secret == "" || s == "" {
		return s
	}
	n := min(scrubPiece, len(secret))
	var hide []bool
	for i := 0; i+n <= len(secret); i++ {
		piece := secret[i : i+n]
		for from := 0; from < len(s); {
			j := strings.Index(s[from:], piece)
			if j < 0 {
				break
			}
			if hide == nil {
				hide = make([]bool, len(s))
			}
			for k := from + j; k < from+j+n; k++ {
				hide[k] = true
			}
			from += j + 1
		}
	}
	if hide == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !hide[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString("[redacted]")
		for i < len(s) && hide[i] {
			i++
		}
	}
	return b.String()
}
