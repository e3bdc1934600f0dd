package urlpolicy

import (
	"net/url"
	"strings"
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

func TestCheck(t *testing.T) {
	for _, c := range securitytest.URLCases {
		if err := Check(c.URL); (err == nil) != c.Allowed {
			t.Errorf("Check(%q) = %v; want allowed=%v (%s)", c.URL, err, c.Allowed, c.Why)
		}
		if u, err := url.Parse(c.URL); err == nil && u.User == nil && u.Host != "" {
			if Secure(u) != c.Allowed {
				t.Errorf("Secure(%q) = %v; want %v (%s)", c.URL, Secure(u), c.Allowed, c.Why)
			}
		}
	}
	tests := []struct {
		url, want string
	}{
		{"", "is required"},
		{"/oauth/token", "not an absolute URL"},
		{"https://u:pw@a.example/t", "user info"},
		{"https://u:pa55w0rd@[bad/t", "not an absolute URL"},
		{"http://auth.example/t", "must use https (http is allowed only for loopback hosts)"},
		{"ftp://auth.example/t", "must use https"},
	}
	for _, tt := range tests {
		err := Check(tt.url)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "pa55w0rd") {
			t.Errorf("Check(%q) = %v; want an error saying %q without the password", tt.url, err, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true,
		"localhost.evil.example": false, "10.0.0.1": false, "0.0.0.0": false, "example.com": false, "::ffff:127.0.0.1": true,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v; want %v", host, got, want)
		}
	}
}
