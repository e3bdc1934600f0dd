package main

import (
	"testing"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/securitytest"
)

// TestAPIBaseURLPolicy checks API_BASE_URL against the URL cases every
// token-sending check shares: https anywhere, plain http only to a
// loopback host.
func TestAPIBaseURLPolicy(t *testing.T) {
	for _, c := range securitytest.URLCases {
		env := map[string]string{"PROFILE": "p", "API_BASE_URL": c.URL}
		_, err := loadConfig(func(k string) string { return env[k] })
		if (err == nil) != c.Allowed {
			t.Errorf("loadConfig(API_BASE_URL=%q) = %v; want allowed=%v (%s)", c.URL, err, c.Allowed, c.Why)
		}
	}
}
