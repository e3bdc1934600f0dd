package main

import (
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/version"
)

// env returns a getenv over vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadConfig(t *testing.T) {
	valid := func() map[string]string {
		return map[string]string{"PROFILE": "aviv-caas-agency-42", "API_BASE_URL": "https://api.aviv-group.com/"}
	}
	tests := []struct {
		name    string
		change  map[string]string
		wantErr []string // every one must appear; empty means valid
		check   func(t *testing.T, cfg config)
	}{
		{name: "defaults", check: func(t *testing.T, cfg config) {
			if cfg.BaseURL.String() != "https://api.aviv-group.com" || cfg.UserAgent != version.UserAgent("consumer") ||
				cfg.ParameterPrefix != "/oauth-tokens" || cfg.Namespace != "OAuthTokenRotator" || cfg.Environment != "local" {
				t.Errorf("loadConfig = %+v; want the documented defaults", cfg)
			}
		}},
		{name: "everything set", change: map[string]string{
			"API_BASE_URL": "https://api.example.com/sandbox/v3", "USER_AGENT": "leads/1.0",
			"TOKEN_PARAMETER_PREFIX": "/team/tokens", "METRICS_NAMESPACE": "Team/Tokens", "ENVIRONMENT": "production",
		}, check: func(t *testing.T, cfg config) {
			if cfg.BaseURL.Path != "/sandbox/v3" || cfg.UserAgent != "leads/1.0" || cfg.ParameterPrefix != "/team/tokens" ||
				cfg.Namespace != "Team/Tokens" || cfg.Environment != "production" {
				t.Errorf("loadConfig = %+v; want the values set", cfg)
			}
		}},
		{name: "http to 127.0.0.1", change: map[string]string{"API_BASE_URL": "http://127.0.0.1:8080"}},
		{name: "http to 127.1.2.3", change: map[string]string{"API_BASE_URL": "http://127.1.2.3"}},
		{name: "http to localhost", change: map[string]string{"API_BASE_URL": "http://localhost:9000/api"}},
		{name: "http to ::1", change: map[string]string{"API_BASE_URL": "http://[::1]:9000"}},
		{name: "PROFILE missing", change: map[string]string{"PROFILE": ""}, wantErr: []string{"PROFILE is required"}},
		{name: "PROFILE invalid", change: map[string]string{"PROFILE": "a/b"}, wantErr: []string{"PROFILE", "not a profile name"}},
		{name: "API_BASE_URL missing", change: map[string]string{"API_BASE_URL": ""}, wantErr: []string{"API_BASE_URL is required"}},
		{name: "API_BASE_URL http remote", change: map[string]string{"API_BASE_URL": "http://api.example.com"}, wantErr: []string{"API_BASE_URL", "must use https"}},
		{name: "API_BASE_URL http to a look-alike", change: map[string]string{"API_BASE_URL": "http://127.0.0.1.example.com"}, wantErr: []string{"API_BASE_URL", "must use https"}},
		{name: "API_BASE_URL relative", change: map[string]string{"API_BASE_URL": "api.example.com/v1"}, wantErr: []string{"API_BASE_URL", "absolute"}},
		{name: "API_BASE_URL other scheme", change: map[string]string{"API_BASE_URL": "ftp://api.example.com"}, wantErr: []string{"API_BASE_URL", "absolute http(s)"}},
		{name: "API_BASE_URL with credentials", change: map[string]string{"API_BASE_URL": "https://user:pa55word@api.example.com"}, wantErr: []string{"API_BASE_URL", "credentials"}},
		{name: "API_BASE_URL with query", change: map[string]string{"API_BASE_URL": "https://api.example.com/?key=1"}, wantErr: []string{"API_BASE_URL", "query"}},
		{name: "TOKEN_PARAMETER_PREFIX relative", change: map[string]string{"TOKEN_PARAMETER_PREFIX": "oauth-tokens"}, wantErr: []string{"TOKEN_PARAMETER_PREFIX"}},
		{name: "USER_AGENT with a newline", change: map[string]string{"USER_AGENT": "a\nX-Injected: 1"}, wantErr: []string{"USER_AGENT"}},
		{name: "METRICS_NAMESPACE invalid", change: map[string]string{"METRICS_NAMESPACE": "a b"}, wantErr: []string{"METRICS_NAMESPACE"}},
		{name: "reader role and region", change: map[string]string{"TOKEN_READER_ROLE_ARN": "arn:aws:iam::123456789012:role/reader",
			"TOKEN_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "leads-export"}, check: func(t *testing.T, cfg config) {
			if cfg.Reader != (readerRole{ARN: "arn:aws:iam::123456789012:role/reader", Region: "eu-west-1"}) || cfg.SessionName != "leads-export" {
				t.Errorf("Reader = %+v, SessionName %q; want the role, the region and the function's name", cfg.Reader, cfg.SessionName)
			}
		}},
		{name: "TOKEN_READER_ROLE_ARN invalid", change: map[string]string{"TOKEN_READER_ROLE_ARN": "reader"}, wantErr: []string{"TOKEN_READER_ROLE_ARN", "CrossAccountReaderRoleArn"}},
		{name: "TOKEN_MIN_READ_INTERVAL set", change: map[string]string{"TOKEN_MIN_READ_INTERVAL": "250ms"}, check: func(t *testing.T, cfg config) {
			if cfg.MinReadInterval != 250*time.Millisecond {
				t.Errorf("MinReadInterval = %v; want 250ms", cfg.MinReadInterval)
			}
		}},
		{name: "TOKEN_MIN_READ_INTERVAL invalid", change: map[string]string{"TOKEN_MIN_READ_INTERVAL": "soon"}, wantErr: []string{"TOKEN_MIN_READ_INTERVAL", "not a duration"}},
		{name: "several at once", change: map[string]string{"PROFILE": "", "API_BASE_URL": "http://api.example.com"}, wantErr: []string{"PROFILE", "API_BASE_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := valid()
			for k, v := range tt.change {
				vars[k] = v
			}
			cfg, err := loadConfig(env(vars))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("loadConfig(%v) = %v; want no error", vars, err)
				}
				if tt.check != nil {
					tt.check(t, cfg)
				}
				return
			}
			if err == nil {
				t.Fatalf("loadConfig(%v) = nil error; want one containing %q", vars, tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("loadConfig(%v) = %q; want it to contain %q", vars, err, want)
				}
			}
			if strings.Contains(err.Error(), "pa55word") {
				t.Errorf("loadConfig error %q reveals the URL's password", err)
			}
		})
	}
}
