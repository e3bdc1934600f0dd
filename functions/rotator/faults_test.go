package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/m2mtokens/oauth-token-rotator/internal/clientcred"
	"github.com/m2mtokens/oauth-token-rotator/internal/oauth"
	"github.com/m2mtokens/oauth-token-rotator/internal/rotate"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/leakcheck"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"github.com/m2mtokens/oauth-token-rotator/internal/tokenstore"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokenrecord"
)

// TestRotatorUnderFaults runs the rotator handler in-process against one
// moto (behind the fault-injecting proxy, with the function's own AWS
// retryer) and the fake providers, through every fault of the token
// endpoint and of AWS and through concurrent runs. Each case checks what
// the run promises: the stored token is untouched by a failure, the error
// names the profile, other profiles are refreshed, no lease is left behind,
// and no profile is fetched twice. At the end every captured log line,
// metric line, error and answer is scanned for the known client secrets
// and every token issued or stored, whole or any 8-byte piece.
func TestRotatorUnderFaults(t *testing.T) {
	e := newFaultEnv(t)
	t.Run("token endpoint", func(t *testing.T) { tokenEndpointFaults(t, e) })
	t.Run("token_type", func(t *testing.T) { tokenTypes(t, e) })
	t.Run("aws", func(t *testing.T) { awsFaults(t, e) })
	t.Run("concurrency", func(t *testing.T) { concurrentRuns(t, e) })
	t.Run("lease take-over race", func(t *testing.T) { takeOverRace(t, e) })
	e.scan(t)
}

// noBackoff keeps the SDK retryer's attempts and rules but not its waits.
func noBackoff(o *retry.StandardOptions) {
	o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
}

// faultEnv is what the subtests of TestRotatorUnderFaults share. Each
// subtest uses its own parameter prefix, so it sees only its own records.
type faultEnv struct {
	moto    *mototest.Server
	proxy   *mototest.Proxy
	idp     *oauthtest.Server
	admin   *ssm.Client            // straight to moto: seeding and checks
	adminSM *secretsmanager.Client // straight to moto
	logs    *lockedBuffer
	metrics *lockedBuffer

	mu      sync.Mutex
	outputs []string // every error and answer
	values  []string // every secret and token that must never appear
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	e := &faultEnv{moto: mototest.Start(t), idp: oauthtest.NewServer(), logs: &lockedBuffer{}, metrics: &lockedBuffer{}}
	t.Cleanup(e.idp.Close)
	e.proxy = e.moto.Proxy(t)
	e.admin, e.adminSM = e.moto.Clients(t)
	return e
}

// secret registers a client of the fake providers and its secret in
// Secrets Manager.
func (e *faultEnv) secret(t *testing.T, name, clientID, secret string) {
	t.Helper()
	e.idp.AddClient(clientID, secret)
	e.moto.MustPutClientSecret(t, name, clientID, secret)
	e.mustNotLeak(secret)
}

// mustNotLeak adds values that no output may contain.
func (e *faultEnv) mustNotLeak(values ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.values = append(e.values, values...)
}

// handler builds the rotator as a new Lambda environment would, from a
// profiles document and a parameter prefix, with AWS clients through the
// proxy configured by newRetryer (without backoff waits). A nil fetcher
// means the production client with recorded instead of real waits.
func (e *faultEnv) handler(t *testing.T, doc, prefix string, fetcher rotate.Fetcher, wrap func(rotate.Store) rotate.Store) *handler {
	t.Helper()
	file := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	awsCfg, err := mototest.ConfigFor(context.Background(), e.proxy.URL, awsconfig.WithRetryer(newRetryer(noBackoff)))
	if err != nil {
		t.Fatal(err)
	}
	var store rotate.Store = &tokenstore.Store{API: ssm.NewFromConfig(awsCfg)}
	if wrap != nil {
		store = wrap(store)
	}
	if fetcher == nil {
		fetcher = &oauth.Client{Sleep: func(context.Context, time.Duration) error { return nil }}
	}
	cfg, cfgErr := loadConfig(func(k string) string {
		return map[string]string{"PROFILES_FILE": file, "TOKEN_PARAMETER_PREFIX": prefix, "ENVIRONMENT": "faults"}[k]
	})
	h := newHandler(cfg, cfgErr, handlerDeps{
		Secrets: &clientcred.Reader{API: secretsmanager.NewFromConfig(awsCfg)},
		Store:   store,
		Fetcher: fetcher,
		Logger:  slog.New(slog.NewJSONHandler(e.logs, nil)),
		Metrics: e.metrics,
	})
	if h.configErr != nil {
		t.Fatalf("profiles document: %v", h.configErr)
	}
	return h
}

// invoke runs one invocation and keeps its error and answer for the scan.
func (e *faultEnv) invoke(t *testing.T, h *handler, payload string) (rotate.Summary, error) {
	t.Helper()
	return e.invokeWithin(t, h, payload, 60*time.Second)
}

// invokeWithin is invoke with the function timeout given.
func (e *faultEnv) invokeWithin(t *testing.T, h *handler, payload string, timeout time.Duration) (rotate.Summary, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sum, err := h.Handle(ctx, json.RawMessage(payload))
	answer, _ := json.Marshal(sum)
	e.mu.Lock()
	e.outputs = append(e.outputs, string(answer))
	if err != nil {
		e.outputs = append(e.outputs, err.Error(), fmt.Sprintf("%+v", err))
	}
	e.mu.Unlock()
	return sum, err
}

// raw returns a parameter's value as stored, read straight from moto, or ""
// when there is none.
func (e *faultEnv) raw(t *testing.T, name string) string {
	t.Helper()
	out, err := e.admin.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	var nf *types.ParameterNotFound
	if errors.As(err, &nf) {
		return ""
	}
	if err != nil {
		t.Fatalf("GetParameter(%s) = %v", name, err)
	}
	return aws.ToString(out.Parameter.Value)
}

// seed stores a valid record for profile under prefix, as an earlier run
// would have, and returns its raw value.
func (e *faultEnv) seed(t *testing.T, prefix, profile string) string {
	t.Helper()
	tok := "seeded-" + profile + "-" + randomHex(t)
	e.mustNotLeak(tok)
	now := time.Now()
	name := tokenrecord.ParameterName(prefix, profile)
	_, err := (&tokenstore.Store{API: e.admin}).Write(context.Background(), name,
		tokenrecord.Record{AccessToken: tok, TokenType: "Bearer", Profile: profile, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return e.raw(t, name)
}

// requestsByClient counts the fake providers' token requests per client id.
func (e *faultEnv) requestsByClient() map[string]int {
	out := map[string]int{}
	for _, r := range e.idp.Requests() {
		out[r.ClientID]++
	}
	return out
}

// scan fails the test if any output contains a piece of a secret or token.
func (e *faultEnv) scan(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	values := slices.Clone(e.values)
	texts := map[string]string{"errors and answers": strings.Join(e.outputs, "\n")}
	e.mu.Unlock()
	for _, i := range e.idp.IssuedTokens() {
		values = append(values, i.Token)
	}
	texts["logs"], texts["metrics"] = e.logs.String(), e.metrics.String()
	if !strings.Contains(texts["logs"], `"msg":"profile failed"`) || !strings.Contains(texts["logs"], `"msg":"profile refreshed"`) {
		t.Fatalf("the logs hold no failed or no refreshed profile: nothing was scanned")
	}
	for what, text := range texts {
		if piece, found := leakcheck.Find(text, values...); found {
			t.Errorf("%s contain %q, a piece of a client secret or token", what, piece)
		}
	}
}

// checkFailure checks a run in which only failed failed: the error is a
// RunError naming it and saying want, the other profiles were refreshed,
// its stored record is as before and the run's lease is gone.
func (e *faultEnv) checkFailure(t *testing.T, sum rotate.Summary, err error, prefix, failed, want string, before string, others ...string) {
	t.Helper()
	var re *rotate.RunError
	if !errors.As(err, &re) {
		t.Fatalf("invoke = %v; want a *rotate.RunError", err)
	}
	if len(sum.Failed) != 1 || sum.Failed[0].Profile != failed {
		t.Errorf("failed = %+v; want only %s", sum.Failed, failed)
	}
	if msg := err.Error(); !strings.Contains(msg, failed+" (") || !strings.Contains(msg, want) {
		t.Errorf("error = %q; want it to name %s and say %q", msg, failed, want)
	}
	var refreshed []string
	for _, o := range sum.Refreshed {
		refreshed = append(refreshed, o.Profile)
	}
	if !slices.Equal(refreshed, others) {
		t.Errorf("refreshed %v; want %v (one failing profile never stops the others)", refreshed, others)
	}
	name := tokenrecord.ParameterName(prefix, failed)
	if got := e.raw(t, name); got != before {
		t.Errorf("stored record of %s changed by a failed refresh:\n got %s\nwant %s", failed, got, before)
	}
	if lease := tokenstore.LeaseName(rotate.RunLease(prefix)); e.raw(t, lease) != "" {
		t.Errorf("run lease %s left behind: %q", lease, e.raw(t, lease))
	}
}

// scripted is a token endpoint whose every answer a test chooses.
type scripted struct {
	*httptest.Server
	answer   atomic.Pointer[http.HandlerFunc]
	requests atomic.Int64
}

func newScripted(t *testing.T, tls bool) *scripted {
	s := &scripted{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if a := s.answer.Load(); a != nil {
			(*a)(w, r)
			return
		}
		http.Error(w, `{"error":"server_error"}`, 500)
	})
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) set(h http.HandlerFunc) { s.answer.Store(&h) }

// sleepRecorder records the waits a Fetch asks for instead of waiting.
type sleepRecorder struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleepRecorder) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleepRecorder) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// faultClock is the clock of the token client in the fault matrix, for
// Retry-After dates.
var faultClock = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// faultToken is the access token in the invalid answers of the fault
// matrix: refused answers must not put it anywhere either.
const faultToken = "fault-access-token-Qw7Er9Ty2Ui4"

func jsonAnswer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// tokenEndpointFaults is the fault matrix of the token endpoint: every
// case fails the victim profile with an error naming it, leaves its stored
// token as it was, and refreshes the bystander.
func tokenEndpointFaults(t *testing.T, e *faultEnv) {
	const prefix = "/faults/endpoint"
	const victimSecret, bystanderSecret = "Vs8Kd2Lq9Wz4Xc7Bn1Mh", "Bs3Fg6Hj8Kl1Qw5Er7Ty"
	e.secret(t, "faults/victim", "victim-client", victimSecret)
	e.secret(t, "faults/bystander", "bystander-client", bystanderSecret)
	e.mustNotLeak(faultToken)

	plain, tlsServer := newScripted(t, false), newScripted(t, true)
	elsewhere, elsewhereTLS := newScripted(t, false), newScripted(t, true)
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String() + "/oauth/token"
	}()
	redirect := func(code int, to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, code) }
	}
	html := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>maintenance "+faultToken+"</body></html>")
	}
	tokenWith := func(fields string) http.HandlerFunc {
		return jsonAnswer(200, `{"access_token":"`+faultToken+`"`+fields+`}`)
	}
	retryAfter := func(v string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", v)
			jsonAnswer(429, `{"error":"rate_limited"}`)(w, nil)
		}
	}
	hang := func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

	four := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}
	tests := []struct {
		name     string
		url      string // default: the plain scripted endpoint
		answer   http.HandlerFunc
		timeout  time.Duration // per attempt; default 10s
		want     string        // in the error
		requests int64         // reaching the endpoint (TLS: handshakes refused before any request)
		waits    []time.Duration
	}{
		{"connection refused", refused, nil, 0, "connection refused", 0, four},
		{"timeout", "", hang, 100 * time.Millisecond, "deadline exceeded", 4, four},
		{"TLS with an untrusted certificate", "tls", jsonAnswer(200, `{"access_token":"x","expires_in":60}`), 0, "certificate", 0, nil},
		{"400 invalid_request", "", jsonAnswer(400, `{"error":"invalid_request","error_description":"audience is required"}`), 0, `status 400, error "invalid_request" (audience is required)`, 1, nil},
		{"401 invalid_client", "", jsonAnswer(401, `{"error":"invalid_client","error_description":"Unauthorized"}`), 0, `status 401, error "invalid_client"`, 1, nil},
		{"403", "", jsonAnswer(403, `{"error":"access_denied","error_description":"Service not enabled within domain"}`), 0, `status 403, error "access_denied"`, 1, nil},
		{"429 with Retry-After in seconds", "", retryAfter("3"), 0, "status 429", 4, []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second}},
		{"429 with Retry-After as an HTTP date", "", retryAfter(faultClock.Add(5 * time.Second).Format(http.TimeFormat)), 0, "status 429", 4, []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"429 with a Retry-After longer than a run may wait", "", retryAfter("3600"), 0, "exceeds the 30s this run may wait", 1, nil},
		{"500", "", jsonAnswer(500, `{"error":"server_error"}`), 0, "status 500", 4, four},
		{"503", "", jsonAnswer(503, `{"error":"temporarily_unavailable"}`), 0, "status 503", 4, four},
		{"HTML body with 200", "", html, 0, "not a JSON token response (content-type text/html", 1, nil},
		{"empty body with 200", "", jsonAnswer(200, ""), 0, "empty body", 1, nil},
		{"truncated JSON", "", jsonAnswer(200, `{"access_token":"`+faultToken), 0, "not a JSON token response", 1, nil},
		{"body over the cap", "", tokenWith(`,"expires_in":3600,"padding":"` + strings.Repeat("x", oauth.DefaultMaxResponseBytes) + `"`), 0, "exceeds 65536 bytes", 1, nil},
		{"access_token missing", "", jsonAnswer(200, `{"expires_in":3600,"token_type":"Bearer"}`), 0, "access_token is missing", 1, nil},
		{"access_token empty", "", jsonAnswer(200, `{"access_token":"","expires_in":3600}`), 0, "access_token is empty", 1, nil},
		{"expires_in missing", "", tokenWith(``), 0, "expires_in is missing", 1, nil},
		{"expires_in zero", "", tokenWith(`,"expires_in":0`), 0, "expires_in must be at least 1 second", 1, nil},
		{"expires_in negative", "", tokenWith(`,"expires_in":-3600`), 0, "expires_in must be at least 1 second", 1, nil},
		{"expires_in huge", "", tokenWith(`,"expires_in":31622401`), 0, "exceeds the 8784h0m0s this rotator accepts", 1, nil},
		{"expires_in not a number", "", tokenWith(`,"expires_in":"tomorrow"`), 0, "expires_in is not a number", 1, nil},
		{"token_type other than Bearer", "", tokenWith(`,"expires_in":3600,"token_type":"mac"`), 0, `token_type "mac" is not Bearer`, 1, nil},
		{"redirect to plain http on another host", "", redirect(302, elsewhere.URL+"/oauth/token"), 0, "redirected; not followed", 1, nil},
		{"redirect to another https host", "", redirect(307, strings.Replace(elsewhereTLS.URL, "127.0.0.1", "localhost", 1)+"/oauth/token"), 0, "redirected; not followed", 1, nil},
		{"permanent redirect on the same host", "", redirect(308, "/elsewhere/token"), 0, "redirected; not followed", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := plain.URL + "/oauth/token"
			target := plain
			switch tt.url {
			case "":
			case "tls":
				url, target = tlsServer.URL+"/oauth/token", tlsServer
			default:
				url, target = tt.url, nil
			}
			if target != nil {
				target.set(tt.answer)
				target.requests.Store(0)
			}
			elsewhere.requests.Store(0)
			elsewhereTLS.requests.Store(0)
			doc := fmt.Sprintf("profiles:\n"+
				"  - name: victim\n    token_url: %s\n    secret_id: faults/victim\n"+
				"  - name: bystander\n    token_url: %s\n    secret_id: faults/bystander\n    headers: {Accept: application/json}\n",
				url, e.idp.TokenURL("partner"))
			waits := &sleepRecorder{}
			fetcher := &oauth.Client{Sleep: waits.sleep, Now: func() time.Time { return faultClock }, Rand: func() float64 { return 1 }, RequestTimeout: tt.timeout}
			h := e.handler(t, doc, prefix, fetcher, nil)
			before := e.seed(t, prefix, "victim")

			sum, err := e.invoke(t, h, `{"force":true}`)
			e.checkFailure(t, sum, err, prefix, "victim", tt.want, before, "bystander")
			if target != nil {
				if got := target.requests.Load(); got != tt.requests {
					t.Errorf("the token endpoint received %d requests; want %d", got, tt.requests)
				}
			}
			if n := elsewhere.requests.Load() + elsewhereTLS.requests.Load(); n != 0 {
				t.Errorf("the redirect target received %d requests; want 0 (a redirect would resend the client secret)", n)
			}
			if got := waits.waits(); !slices.Equal(got, tt.waits) {
				t.Errorf("waits between attempts = %v; want %v", got, tt.waits)
			}
		})
	}
}

// tokenTypes checks the token_type decision: absent means Bearer and is
// stored as Bearer; Bearer in any case is kept as returned; other types are
// refused (consumers send every token as Bearer), leaving the stored token.
func tokenTypes(t *testing.T, e *faultEnv) {
	const prefix = "/faults/token-type"
	e.secret(t, "faults/token-type", "token-type-client", "Tt5Yy7Uu9Ii1Oo3Pp5Aa")
	endpoint := newScripted(t, false)
	doc := "profiles:\n  - name: typed\n    token_url: " + endpoint.URL + "/oauth/token\n    secret_id: faults/token-type\n"
	h := e.handler(t, doc, prefix, nil, nil)
	for _, tt := range []struct {
		name, field, want string
	}{
		{"absent is stored as Bearer", ``, "Bearer"},
		{"empty is stored as Bearer", `,"token_type":""`, "Bearer"},
		{"lower-case bearer is kept as returned", `,"token_type":"bearer"`, "bearer"},
		{"DPoP is refused", `,"token_type":"DPoP"`, ""},
		{"mac is refused", `,"token_type":"mac"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := "typed-token-" + randomHex(t)
			e.mustNotLeak(tok)
			endpoint.set(jsonAnswer(200, `{"access_token":"`+tok+`","expires_in":3600`+tt.field+`}`))
			before := e.seed(t, prefix, "typed")
			sum, err := e.invoke(t, h, `{"force":true}`)
			if tt.want == "" {
				e.checkFailure(t, sum, err, prefix, "typed", "is not Bearer; consumers send tokens as Bearer", before)
				return
			}
			if err != nil || len(sum.Refreshed) != 1 {
				t.Fatalf("invoke = %+v, %v; want typed refreshed", sum, err)
			}
			rec, perr := tokenrecord.Parse([]byte(e.raw(t, tokenrecord.ParameterName(prefix, "typed"))))
			if perr != nil || rec.AccessToken != tok || rec.TokenType != tt.want {
				t.Errorf("stored record = %v, %v; want the new token with token_type %q", rec, perr, tt.want)
			}
		})
	}
}

// lockedBuffer is a buffer several loggers may write to at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var hexSeq atomic.Int64

// randomHex returns a value unique in this test binary, to tell tokens
// apart.
func randomHex(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("%x%08x", time.Now().UnixNano(), hexSeq.Add(1))
}
