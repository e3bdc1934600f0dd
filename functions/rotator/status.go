package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
)

// Invoke is the Lambda entry point: {"status": true} answers the profiles'
// status (rotate.Status: no token request, no secret read); every other
// event is a run (Handle).
func (h *handler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	if !isStatus(raw) {
		return h.Handle(ctx, raw)
	}
	if h.configErr != nil {
		return nil, h.configErr
	}
	st, err := h.rotator.Status(ctx)
	if err != nil {
		h.logger.Error("status failed", "error", err.Error())
		return nil, err
	}
	h.logger.Info("status", "ok", st.Counts[rotate.StateOK], "due", st.Counts[rotate.StateDue],
		"deferred", st.Counts[rotate.StateDeferred], "failing", st.Counts[rotate.StateFailing])
	return st, nil
}

// isStatus reports whether the payload is exactly {"status": true}.
func isStatus(raw json.RawMessage) bool {
	var probe struct {
		Status *bool `json:"status"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(&probe) == nil && probe.Status != nil && *probe.Status
}

// checkReserved refuses a profiles document whose profile would use one of
// the rotator's own parameters (its failure record) as its record.
func checkReserved(ps []profile.Profile, prefix string) error {
	reserved := rotate.FailureRecord(prefix)
	for _, p := range ps {
		if p.Parameter == reserved {
			return fmt.Errorf("profile %q: its parameter %s is the rotator's failure record: rename the profile or set another parameter", p.Name, reserved)
		}
	}
	return nil
}
