package tokencache

import (
	"context"
	"time"

	"golang.org/x/oauth2"
)

// TokenSource returns an oauth2.TokenSource that serves the Source's token
// to x/oauth2 and to every library that accepts an oauth2.TokenSource (or
// an *http.Client built by oauth2.NewClient). Each Token call is a
// Source.Token call with ctx; errors are the same *Error.
//
// Each token carries its real expiry, so that x/oauth2 asks again when the
// cache would: the earlier of the token's validity end (the record's
// expires_at minus Config.Skew) and the moment the cache reads the record
// again (Config.MaxAge after the last read, or Config.MinReadInterval after
// a failed one). oauth2.NewClient and oauth2.ReuseTokenSource therefore
// follow the record as the rotator replaces it, without a restart. (A token
// with a zero Expiry, as oauth2.StaticTokenSource serves, never expires for
// x/oauth2, which would keep sending the first token.) Expiry is measured
// on the cache's clock (Config.Now), which x/oauth2 assumes is time.Now.
//
// Unlike Source.Transport, an oauth2.Transport does not re-read the record after a
// 401 answer; prefer Source.Client for plain HTTP calls.
//
// The TokenSource is safe for concurrent use; it holds no token of its own.
func (s *Source) TokenSource(ctx context.Context) oauth2.TokenSource {
	return &tokenSource{ctx: ctx, src: s}
}

// tokenSource adapts a Source to oauth2.TokenSource.
type tokenSource struct {
	ctx context.Context
	src *Source
}

var _ oauth2.TokenSource = (*tokenSource)(nil)

// Token implements oauth2.TokenSource.
func (ts *tokenSource) Token() (*oauth2.Token, error) {
	var tok string
	// A read may publish a new entry between Token and Load; try again so
	// that the expiry is the served token's. Three tries is plenty: each
	// needs a rotation in between.
	for range 3 {
		var err error
		if tok, err = ts.src.Token(ts.ctx); err != nil {
			return nil, err
		}
		if e := ts.src.cur.Load(); e != nil && e.token == tok {
			return &oauth2.Token{AccessToken: tok, TokenType: "Bearer", Expiry: e.until()}, nil
		}
	}
	// The entry kept changing: serve the token as due now, so that the
	// next call asks the cache again.
	return &oauth2.Token{AccessToken: tok, TokenType: "Bearer", Expiry: ts.src.c.now()}, nil
}

// until is when e's token stops being served without a read: the earlier
// of its validity end and the next read.
func (e *entry) until() time.Time {
	if e.refreshAt.Before(e.validUntil) {
		return e.refreshAt
	}
	return e.validUntil
}
