package demo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// StatusFigures are the {"status": true} invocation's figures.
type StatusFigures struct {
	Rows          int // profiles listed
	Correct       int // rows whose parameter, issued_at and expires_at are the stored record's
	OK            int // rows in state ok
	GetParameters int
	OtherCalls    int // any other AWS call
	TokenRequests int
	Leaks         int // pieces of a token or secret in the answer
}

// status invokes the rotator with events/status.json and checks every row
// against the record stored in SSM, counting the calls it made.
func (d *demo) status() error {
	payload, err := os.ReadFile(filepath.Join(d.opts.Root, "events", "status.json"))
	if err != nil {
		return err
	}
	d.proxy.Reset()
	before := d.idp.RequestCount()
	res, err := d.rotator.Invoke(d.ctx, payload)
	if err != nil || res.Err != nil {
		return fmt.Errorf("demo: status: %v %v", err, res.Err)
	}
	f := &d.rep.Status
	f.TokenRequests = d.idp.RequestCount() - before
	for op, n := range d.proxy.Counts() {
		if op == mototest.OpGetParameters {
			f.GetParameters += n
		} else {
			f.OtherCalls += n
		}
	}
	var st rotate.Status
	if err := json.Unmarshal(res.Payload, &st); err != nil {
		return fmt.Errorf("demo: status answer: %w", err)
	}
	f.Rows, f.OK = len(st.Profiles), st.Counts[rotate.StateOK]
	for _, p := range st.Profiles {
		rec, err := storedRecord(d.ctx, d.proxy.URL, p.Parameter)
		if err == nil && p.Parameter == tokenrecord.ParameterName("", p.Profile) && p.IssuedAt != nil && p.ExpiresAt != nil &&
			p.IssuedAt.Equal(rec.IssuedAt) && p.ExpiresAt.Equal(rec.ExpiresAt) {
			f.Correct++
		}
		if piece, found := leakcheck.Find(string(res.Payload), rec.AccessToken); found {
			d.say("      LEAK in the status answer (%q)", piece)
			f.Leaks++
		}
	}
	d.say("      rotator, {\"status\": true}: %d rows (%d ok), %d matching the stored records | SSM GetParameters %d, other AWS calls %d | token requests %d",
		f.Rows, f.OK, f.Correct, f.GetParameters, f.OtherCalls, f.TokenRequests)
	return nil
}
