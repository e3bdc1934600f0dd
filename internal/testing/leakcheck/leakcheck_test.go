package leakcheck

import "testing"

func TestFind(t *testing.T) {
	secret := "Zq8xW3vN7kLp2Rt5Ym9B"
	tests := []struct {
		name  string
		text  string
		want  string
		found bool
	}{
		{"clean", `{"msg":"profile refreshed","profile":"a"}`, "", false},
		{"whole", "token=" + secret, "Zq8xW3vN", true},
		{"middle piece", "…7kLp2Rt5…", "7kLp2Rt5", true},
		{"seven bytes are not a piece", "Ym9B and Rt5Y", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := Find(tt.text, "", secret)
			if got != tt.want || found != tt.found {
				t.Errorf("Find(%q) = %q, %v; want %q, %v", tt.text, got, found, tt.want, tt.found)
			}
		})
	}
	if p, ok := Find("the pin is 1234", "1234"); !ok || p != "1234" {
		t.Errorf("Find(short secret) = %q, %v; want it found whole", p, ok)
	}
}

func TestPEMBody(t *testing.T) {
	pem := "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\nBgkqhkiG9w0B\n-----END PRIVATE KEY-----\n"
	if got, want := PEMBody(pem), "MIIEvQIBADANBgkqhkiG9w0B"; got != want {
		t.Errorf("PEMBody(%q) = %q; want %q", pem, got, want)
	}
}
