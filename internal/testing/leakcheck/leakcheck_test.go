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

// TestEncodings: for a secret whose every 8 bytes hold a character that
// both form and JSON encodings escape, each form differs from the others,
// Find on the raw secret misses the encoded ones, and Find on Encodings
// sees each.
func TestEncodings(t *testing.T) {
	const secret = `Pq7"Wx+9<Kz/Lm4&Rt=Vb\2 Ns>3Hy`
	forms := Encodings("client id", secret)
	want := []string{secret, `Pq7%22Wx%2B9%3CKz%2FLm4%26Rt%3DVb%5C2+Ns%3E3Hy`, `Pq7\"Wx+9\u003cKz/Lm4\u0026Rt=Vb\\2 Ns\u003e3Hy`,
		"Y2xpZW50K2lkOlBxNyUyMld4JTJCOSUzQ0t6JTJGTG00JTI2UnQlM0RWYiU1QzIrTnMlM0UzSHk=", "Y2xpZW50IGlkOlBxNyJXeCs5PEt6L0xtNCZSdD1WYlwyIE5zPjNIeQ=="}
	if len(forms) != len(want) {
		t.Fatalf("Encodings = %q; want %q", forms, want)
	}
	for i := range want {
		if forms[i] != want[i] {
			t.Errorf("Encodings[%d] = %q; want %q", i, forms[i], want[i])
		}
		if piece, found := Find("echoed: "+want[i], secret); i > 0 && found {
			t.Errorf("Find(raw secret) found %q in the encoded form %q; the test secret does not tell the forms apart", piece, want[i])
		}
		if _, found := Find("echoed: "+want[i], forms...); !found {
			t.Errorf("Find(Encodings) did not see %q", want[i])
		}
	}
}
