package redact

import "testing"

func TestSecret(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "[empty]"},
		{"abc", "[redacted 3 bytes]"},
	} {
		if got := Secret(tt.in); got != tt.want {
			t.Errorf("Secret(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
