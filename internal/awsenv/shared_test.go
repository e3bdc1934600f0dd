package awsenv

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// TestLoadWarnsOfSharedConfig: Load reads no shared config file and no
// profile, so a function whose environment sets AWS_PROFILE,
// AWS_DEFAULT_PROFILE, AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE
// (copied from a developer's machine, say) gets one warning naming each
// that is set and saying whose credentials are used; with none set, none.
func TestLoadWarnsOfSharedConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  []string
	}{
		{"none", nil},
		{"a profile", []string{"AWS_PROFILE=dev"}},
		{"all", []string{"AWS_PROFILE=dev", "AWS_DEFAULT_PROFILE=dev", "AWS_CONFIG_FILE=/home/dev/.aws/config", "AWS_SHARED_CREDENTIALS_FILE=/home/dev/.aws/credentials"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, lambdaEnv...)
			unsetSharedConfig(t)
			for _, kv := range tt.set {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			var buf bytes.Buffer
			if _, err := Load(Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(tt.set) == 0 {
				if buf.Len() != 0 {
					t.Errorf("Load logged %q with none of the shared-config variables set; want nothing", buf.String())
				}
				return
			}
			var line struct{ Level, Msg string }
			if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &line) != nil || line.Level != "WARN" {
				t.Fatalf("Load logged %q; want one WARN line", buf.String())
			}
			for _, kv := range tt.set {
				if k, _, _ := strings.Cut(kv, "="); !strings.Contains(line.Msg, k) {
					t.Errorf("warning %q does not name %s, which is set", line.Msg, k)
				}
			}
			if !strings.Contains(line.Msg, "Lambda environment's credentials") {
				t.Errorf("warning %q; want it to say the Lambda environment's credentials are used", line.Msg)
			}
		})
	}
}

// unsetSharedConfig unsets the variables that point at shared config files,
// which setEnv sets for config.LoadDefaultConfig (restored after the test).
func unsetSharedConfig(t *testing.T) {
	t.Helper()
	for _, k := range sharedConfigVars {
		t.Setenv(k, "")
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
}
