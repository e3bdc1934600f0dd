package main

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-lambda-go/events"

	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
)

// Secrets Manager change events (docs/operating.md#credential-changes-proven-at-once).
// The template's rules send only events of secrets under SecretsPrefix:
//
//   - "Secret Label Updated" (Secrets Manager's own event, no trail needed):
//     a staging label moved to another version; AWSCURRENT means a new
//     value (PutSecretValue, UpdateSecret with a value, a finished rotation,
//     a label moved back). detail.name is the secret's name.
//   - "AWS API Call via CloudTrail" PutSecretValue and UpdateSecret (needs a
//     trail logging management write events): detail.requestParameters
//     .secretId is the name or ARN the caller gave.
//   - "AWS Service Event via CloudTrail" RotationSucceeded:
//     detail.additionalEventData.SecretId is the secret's ARN.
const (
	labelUpdated  = "Secret Label Updated"
	apiCall       = "AWS API Call via CloudTrail"
	serviceEvent  = "AWS Service Event via CloudTrail"
	currentLabel  = "AWSCURRENT"
	secretsSource = "aws.secretsmanager"
)

// secretDetail is what the rotator reads of those events' detail.
type secretDetail struct {
	Name              string `json:"name"`
	LabelUpdated      string `json:"labelUpdated"`
	EventName         string `json:"eventName"`
	ErrorCode         string `json:"errorCode"`
	RequestParameters *struct {
		SecretID      string   `json:"secretId"`
		VersionStages []string `json:"versionStages"`
	} `json:"requestParameters"`
	AdditionalEventData *struct {
		SecretID string `json:"SecretId"`
	} `json:"additionalEventData"`
}

// ignoredEvent is a Secrets Manager event that changes no credentials the
// rotator uses: it is logged and answered with an empty summary.
type ignoredEvent struct{ why string }

// Error says which event was ignored and why.
func (e *ignoredEvent) Error() string { return "rotator: event ignored: " + e.why }

// credentialsRequest turns a Secrets Manager event into a run that
// refreshes the profiles using the changed secret.
func credentialsRequest(ev events.EventBridgeEvent) (rotate.Request, error) {
	var d secretDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return rotate.Request{}, fmt.Errorf("rotator: malformed %q event detail: %v", ev.DetailType, err)
	}
	var id string
	switch {
	case ev.DetailType == labelUpdated:
		if d.LabelUpdated != currentLabel {
			return rotate.Request{}, &ignoredEvent{fmt.Sprintf("label %s of secret %s moved; only %s is the value in use", d.LabelUpdated, d.Name, currentLabel)}
		}
		id = d.Name
		if id == "" && len(ev.Resources) > 0 {
			id = ev.Resources[0]
		}
	case ev.DetailType == apiCall && (d.EventName == "PutSecretValue" || d.EventName == "UpdateSecret"):
		if d.RequestParameters != nil {
			id = d.RequestParameters.SecretID
		}
		switch {
		case d.ErrorCode != "":
			return rotate.Request{}, &ignoredEvent{fmt.Sprintf("%s of secret %s failed (%s): no new value", d.EventName, id, d.ErrorCode)}
		case d.RequestParameters != nil && len(d.RequestParameters.VersionStages) > 0 && !slices.Contains(d.RequestParameters.VersionStages, currentLabel):
			// A rotation's createSecret step stages AWSPENDING; its
			// RotationSucceeded comes when the value is in use. AWS does
			// not document versionStages in CloudTrail's record: without
			// it the run reads AWSCURRENT, finds the version the stored
			// tokens were requested with, and requests none (rotate's
			// unchangedCredentials).
			return rotate.Request{}, &ignoredEvent{fmt.Sprintf("%s of secret %s staged %v, not %s", d.EventName, id, d.RequestParameters.VersionStages, currentLabel)}
		}
	case ev.DetailType == serviceEvent && d.EventName == "RotationSucceeded":
		if d.AdditionalEventData != nil {
			id = d.AdditionalEventData.SecretID
		}
	default:
		return rotate.Request{}, fmt.Errorf("rotator: unexpected Secrets Manager event %q %q (want %q, or %q PutSecretValue/UpdateSecret, or %q RotationSucceeded)",
			ev.DetailType, d.EventName, labelUpdated, apiCall, serviceEvent)
	}
	if id == "" {
		return rotate.Request{}, fmt.Errorf("rotator: %q event %s names no secret", ev.DetailType, d.EventName)
	}
	return rotate.Request{CredentialsChanged: []string{id}}, nil
}
