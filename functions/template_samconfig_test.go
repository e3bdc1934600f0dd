package functions_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
)

// ---------------------------------------------------------------------------
// samconfig.toml
// ---------------------------------------------------------------------------

var overrideToken = regexp.MustCompile(`^\s*([A-Za-z0-9]+)=("(?:[^"\\]|\\.)*"|[^\s"]+)`)

// parseOverrides reads sam's parameter_overrides string:
// Key="value with spaces" Key2=value2.
func parseOverrides(s string) (map[string]string, error) {
	out := map[string]string{}
	for strings.TrimSpace(s) != "" {
		m := overrideToken.FindStringSubmatch(s)
		if m == nil {
			return nil, fmt.Errorf("cannot read %q", s)
		}
		v := m[2]
		if strings.HasPrefix(v, `"`) {
			v = strings.ReplaceAll(strings.Trim(v, `"`), `\"`, `"`)
		}
		out[m[1]] = v
		s = s[len(m[0]):]
	}
	return out, nil
}

// TestTemplateSamconfig checks that every environment in samconfig.toml
// deploys with capabilities, an S3 bucket and parameter overrides that
// template.yaml accepts, that production asks before it changes, and that
// the bundled profiles fit the stack those overrides deploy.
func TestTemplateSamconfig(t *testing.T) {
	tpl := loadTemplate(t)
	var cfg map[string]map[string]map[string]map[string]any
	if _, err := toml.DecodeFile(samconfigPath, &cfg); err != nil {
		t.Fatalf("decode %s: %v", samconfigPath, err)
	}
	stacks := map[string]string{}
	for _, env := range []string{"default", "sandbox", "production"} {
		t.Run(env, func(t *testing.T) {
			deploy := cfg[env]["deploy"]["parameters"]
			if deploy == nil {
				t.Fatalf("[%s.deploy.parameters] missing", env)
			}
			stack, _ := deploy["stack_name"].(string)
			stacks[env] = stack
			if stack == "" || deploy["region"] == nil {
				t.Errorf("[%s.deploy.parameters] stack_name = %q, region = %v; want both set", env, stack, deploy["region"])
			}
			if caps := fmt.Sprint(deploy["capabilities"]); !strings.Contains(caps, "CAPABILITY_IAM") {
				t.Errorf("[%s.deploy.parameters] capabilities = %s; want CAPABILITY_IAM (the stack creates roles and a managed policy)", env, caps)
			}
			if deploy["resolve_s3"] != true {
				t.Errorf("[%s.deploy.parameters] resolve_s3 = %v; want true", env, deploy["resolve_s3"])
			}
			if env == "production" && deploy["confirm_changeset"] != true {
				t.Errorf("[production.deploy.parameters] confirm_changeset = %v; want true", deploy["confirm_changeset"])
			}
			wantEnv := env
			if env == "default" {
				wantEnv = "sandbox"
			}
			for _, cmd := range []string{"deploy", "local_invoke"} {
				raw, ok := cfg[env][cmd]["parameters"]["parameter_overrides"].(string)
				if !ok {
					t.Errorf("[%s.%s.parameters] parameter_overrides missing", env, cmd)
					continue
				}
				overrides, err := parseOverrides(raw)
				if err != nil {
					t.Errorf("[%s.%s.parameters] parameter_overrides: %v", env, cmd, err)
					continue
				}
				if got := overrides["EnvironmentName"]; got != wantEnv {
					t.Errorf("[%s.%s.parameters] EnvironmentName = %q; want %q", env, cmd, got, wantEnv)
				}
				for k, v := range overrides {
					checkParameterValue(t, tpl, fmt.Sprintf("[%s.%s.parameters] %s", env, cmd, k), k, v)
				}
				if cmd == "deploy" {
					checkProfiles(t, tpl, wantEnv, overrides)
				}
			}
		})
	}
	if stacks["sandbox"] == stacks["production"] || stacks["default"] != stacks["sandbox"] {
		t.Errorf("stack names = %v; want default and sandbox the same, production different", stacks)
	}
}

// checkParameterValue reports a value template.yaml would refuse.
func checkParameterValue(t *testing.T, tpl map[string]any, where, name, value string) {
	t.Helper()
	p := getMap(tpl, "Parameters", name)
	if p == nil {
		t.Errorf("%s: template.yaml has no parameter %s", where, name)
		return
	}
	if allowed, ok := p["AllowedValues"].([]any); ok && !slices.Contains(strings1(allowed), value) {
		t.Errorf("%s = %q; want one of %v", where, value, allowed)
	}
	if pat, ok := p["AllowedPattern"].(string); ok && !regexp.MustCompile("^(?:"+pat+")$").MatchString(value) {
		t.Errorf("%s = %q; does not match AllowedPattern %q", where, value, pat)
	}
}

// checkProfiles loads the environment's bundled profiles document, as the
// rotator will, and reports what the stack deployed with these overrides
// would refuse or watch wrongly: a secret outside SecretsPrefix or a
// parameter outside TokenParameterPrefix (IAM denies them), a consumer
// profile that does not exist, a schedule that fires less often than the
// smallest refresh_before, a stalled-rotation threshold so close to it that
// a healthy run could trip the alarm, or an alarm period shorter than two
// schedule intervals (a period without a run counts as breaching).
func checkProfiles(t *testing.T, tpl map[string]any, env string, overrides map[string]string) {
	t.Helper()
	value := func(name string) string {
		if v, ok := overrides[name]; ok {
			return v
		}
		return fmt.Sprint(get(tpl, "Parameters", name, "Default"))
	}
	path := profilesDir + "/" + env + ".yaml"
	if _, err := os.Stat(path); os.IsNotExist(err) {
		t.Logf("%s does not exist yet; not cross-checked", path)
		return
	}
	prefix, secrets := value("TokenParameterPrefix"), value("SecretsPrefix")
	ps, err := profile.Load(path, profile.Options{ParameterPrefix: prefix})
	if err != nil {
		t.Fatalf("profile.Load(%q) = %v", path, err)
	}
	var names []string
	minRefresh := time.Duration(0)
	for _, p := range ps {
		names = append(names, p.Name)
		if minRefresh == 0 || p.RefreshBefore < minRefresh {
			minRefresh = p.RefreshBefore
		}
		secretName := p.SecretID
		if i := strings.Index(secretName, ":secret:"); strings.HasPrefix(secretName, "arn:") && i >= 0 {
			secretName = secretName[i+len(":secret:"):]
		}
		if !strings.HasPrefix(secretName, secrets) {
			t.Errorf("%s: profile %s secret_id %q is outside SecretsPrefix %q; the rotator may not read it", path, p.Name, p.SecretID, secrets)
		}
		if !strings.HasPrefix(p.Parameter, prefix+"/") {
			t.Errorf("%s: profile %s parameter %q is outside TokenParameterPrefix %q; the rotator may not write it", path, p.Name, p.Parameter, prefix)
		}
	}
	if c := value("ConsumerProfile"); !slices.Contains(names, c) {
		t.Errorf("ConsumerProfile %q for %s is not in %s (profiles: %v)", c, env, path, names)
	}
	if len(ps) == 0 {
		return
	}
	threshold, err := time.ParseDuration(value("ExpiryAlarmThresholdSeconds") + "s")
	if err != nil {
		t.Fatalf("ExpiryAlarmThresholdSeconds: %v", err)
	}
	// After a healthy run every token has at least its refresh_before left;
	// keep a minute for the time the run itself takes.
	if threshold > minRefresh-time.Minute {
		t.Errorf("%s: ExpiryAlarmThresholdSeconds = %v; want at most the smallest refresh_before (%v) minus a minute", env, threshold, minRefresh)
	}
	interval, ok := rateInterval(value("ScheduleExpression"))
	if !ok {
		return // cron(...): not checked
	}
	if interval >= minRefresh {
		t.Errorf("%s: ScheduleExpression %q fires every %v; want more often than the smallest refresh_before (%v)", env, value("ScheduleExpression"), interval, minRefresh)
	}
	period, err := time.ParseDuration(value("ExpiryAlarmPeriodSeconds") + "s")
	if err != nil {
		t.Fatalf("ExpiryAlarmPeriodSeconds: %v", err)
	}
	if period < 2*interval {
		t.Errorf("%s: ExpiryAlarmPeriodSeconds = %v; want at least two schedule intervals (%v)", env, period, 2*interval)
	}
}

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// rateInterval reads an EventBridge rate(...) expression.
func rateInterval(expr string) (time.Duration, bool) {
	m := rateExpr.FindStringSubmatch(expr)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit, true
}
