package rotate

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"
)

// What a run answers: one Outcome per profile, in a Summary.

// Action is what a run did with a profile.
type Action string

// The actions.
const (
	Refreshed Action = "refreshed"
	Skipped   Action = "skipped"
	Failed    Action = "failed"
	// Deferred: due, but this run did not request its token (its write
	// budget went to more urgent profiles, or no whole token request fit
	// in its time); the next run takes it.
	Deferred Action = "deferred"
)

// Outcome is one profile's result.
type Outcome struct {
	Profile   string `json:"profile"`
	Action    Action `json:"action"`
	Reason    string `json:"reason"`
	Parameter string `json:"parameter"`
	// ExpiresAt is when the token now stored expires (nil when none is).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// TokenRequest is why this run requested a token for the profile ("":
	// it requested none), whether or not the request succeeded.
	TokenRequest Reason `json:"token_request,omitempty"`
	// EarlyRequest: the token requested replaces one that had been used for
	// less than half its lifetime, for a reason that is not Excused.
	EarlyRequest bool `json:"early_request,omitempty"`
	// Attempts is how many HTTP requests that token request sent: more
	// than one when the client retried (a timeout, 429, 5xx), and the
	// provider may have issued a token for each. 0 when none was sent.
	Attempts int `json:"attempts,omitempty"`

	// For the log line: how long the replaced token had been used, its
	// lifetime, and the new token's lifetime.
	replacedAfter, prevLifetime, lifetime time.Duration
}

// Summary is a run's answer.
type Summary struct {
	Refreshed []Outcome `json:"refreshed"`
	Skipped   []Outcome `json:"skipped"`
	Failed    []Outcome `json:"failed"`
	Deferred  []Outcome `json:"deferred"`
}

// EmptySummary is the summary of a run that had nothing to do: every list
// empty, not null, in its JSON.
func EmptySummary() Summary {
	return Summary{Refreshed: []Outcome{}, Skipped: []Outcome{}, Failed: []Outcome{}, Deferred: []Outcome{}}
}

// Outcomes returns every outcome, sorted by profile.
func (s Summary) Outcomes() []Outcome {
	all := slices.Concat(s.Refreshed, s.Skipped, s.Failed, s.Deferred)
	sort.Slice(all, func(i, j int) bool { return all[i].Profile < all[j].Profile })
	return all
}

// RunError reports the profiles a run could not refresh.
type RunError struct {
	Failed []Outcome
}

// Error names each failed profile with its reason.
func (e *RunError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, o := range e.Failed {
		parts[i] = fmt.Sprintf("%s (%s)", o.Profile, o.Reason)
	}
	return fmt.Sprintf("rotate: %d profile(s) failed: %s", len(e.Failed), strings.Join(parts, "; "))
}

// log writes o as one line: INFO, WARN when deferred, ERROR when failed.
func (r *Rotator) log(ctx context.Context, o Outcome) {
	level := slog.LevelInfo
	switch o.Action {
	case Failed:
		level = slog.LevelError
	case Deferred:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("profile", o.Profile), slog.String("action", string(o.Action)), slog.String("reason", o.Reason), slog.String("parameter", o.Parameter)}
	if o.ExpiresAt != nil {
		attrs = append(attrs, slog.Time("expires_at", *o.ExpiresAt))
	}
	attrs = append(attrs, o.auditAttrs()...)
	r.logger().LogAttrs(ctx, level, "profile "+string(o.Action), attrs...)
}
