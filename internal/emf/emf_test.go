package emf

import (
	"encoding/json"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	ts := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	b := Line("OAuthTokenRotator", ts, []Dimension{{"Environment", "sandbox"}, {"Profile", "p"}},
		Metric{"SecondsUntilExpiry", Seconds, 42.5}, Metric{"Runs", Count, 1})
	if b[len(b)-1] != '\n' {
		t.Fatalf("Line = %q; want a trailing newline", b)
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Environment, Profile string
		SecondsUntilExpiry   float64
		Runs                 float64
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("Line = %s: %v", b, err)
	}
	cw := doc.AWS.CloudWatchMetrics
	switch {
	case doc.AWS.Timestamp != ts.UnixMilli():
		t.Errorf("Timestamp = %d; want %d", doc.AWS.Timestamp, ts.UnixMilli())
	case len(cw) != 1 || cw[0].Namespace != "OAuthTokenRotator":
		t.Errorf("CloudWatchMetrics = %+v; want one directive in OAuthTokenRotator", cw)
	case len(cw[0].Dimensions) != 1 || len(cw[0].Dimensions[0]) != 2 || cw[0].Dimensions[0][0] != "Environment" || cw[0].Dimensions[0][1] != "Profile":
		t.Errorf("Dimensions = %v; want [[Environment Profile]]", cw[0].Dimensions)
	case len(cw[0].Metrics) != 2 || cw[0].Metrics[0].Name != "SecondsUntilExpiry" || cw[0].Metrics[0].Unit != "Seconds":
		t.Errorf("Metrics = %+v", cw[0].Metrics)
	case doc.Environment != "sandbox" || doc.Profile != "p" || doc.SecondsUntilExpiry != 42.5 || doc.Runs != 1:
		t.Errorf("values = %+v", doc)
	}
}
