package lambdatest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startAPI serves the fake Runtime API without a process.
func startAPI(t *testing.T) *apiServer {
	t.Helper()
	s, err := newAPIServer("fn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

func (s *apiServer) url(path string) string { return "http://" + s.addr + path }

// do sends one request and returns the status and body.
func do(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func post(t *testing.T, url, body string, header http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	status, _, got := do(t, req)
	return status, got
}

// deliver queues inv and answers one GET /next with it.
func deliver(t *testing.T, s *apiServer, inv *invocation) http.Header {
	t.Helper()
	go func() { s.queue <- inv }()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url("/2018-06-01/runtime/invocation/next"), nil)
	status, header, body := do(t, req)
	if status != http.StatusOK || body != string(inv.payload) {
		t.Fatalf("GET /next = %d %q; want 200 %q", status, body, inv.payload)
	}
	<-inv.delivered
	return header
}

func newTestInvocation(payload string) *invocation {
	return &invocation{
		id: newUUID(), payload: []byte(payload), timeout: 5 * time.Second,
		functionARN: "arn:aws:lambda:us-east-1:123456789012:function:fn", traceID: "Root=1-a-b",
		delivered: make(chan struct{}), done: make(chan outcome, 1),
	}
}

func TestNextSendsTheInvocationHeaders(t *testing.T) {
	s := startAPI(t)
	inv := newTestInvocation(`{"a":1}`)
	before := time.Now()
	h := deliver(t, s, inv)
	for name, want := range map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       inv.id,
		"Lambda-Runtime-Invoked-Function-Arn": inv.functionARN,
		"Lambda-Runtime-Trace-Id":             "Root=1-a-b",
		"Content-Type":                        "application/json",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("GET /next header %s = %q; want %q", name, got, want)
		}
	}
	for _, name := range []string{"Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity"} {
		if _, ok := h[name]; ok {
			t.Errorf("GET /next sent %s; want it omitted, as for an invocation without a mobile SDK context", name)
		}
	}
	ms, err := strconv.ParseInt(h.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if lo := before.Add(inv.timeout).UnixMilli(); err != nil || ms < lo || ms > time.Now().Add(inv.timeout).UnixMilli() {
		t.Errorf("Lambda-Runtime-Deadline-Ms = %q; want delivery + %v in ms", h.Get("Lambda-Runtime-Deadline-Ms"), inv.timeout)
	}
}

func TestAnswersAreMatchedByRequestID(t *testing.T) {
	s := startAPI(t)
	inv := newTestInvocation(`{}`)
	deliver(t, s, inv)
	base := s.url("/2018-06-01/runtime/invocation/")

	if status, body := post(t, base+"not-a-request/response", `{}`, nil); status != http.StatusBadRequest || !strings.Contains(body, "InvalidRequestID") {
		t.Errorf("POST response for an unknown id = %d %s; want 400 InvalidRequestID", status, body)
	}
	if status, body := post(t, base+inv.id+"/response", `"ok"`, nil); status != http.StatusAccepted {
		t.Errorf("POST response = %d %s; want 202", status, body)
	}
	if out := <-inv.done; string(out.payload) != `"ok"` || out.err != nil {
		t.Errorf("outcome = %q, %v; want the posted answer", out.payload, out.err)
	}
	if status, _ := post(t, base+inv.id+"/response", `"again"`, nil); status != http.StatusBadRequest {
		t.Errorf("second POST response for one id = %d; want 400", status)
	}
	if status, _ := post(t, base+inv.id+"/error", `{}`, nil); status != http.StatusBadRequest {
		t.Errorf("POST error after the response = %d; want 400", status)
	}
}

func TestErrorDocumentAndTypeHeaderAreCaptured(t *testing.T) {
	s := startAPI(t)
	inv := newTestInvocation(`{}`)
	deliver(t, s, inv)

	doc := `{"errorMessage":"no token","errorType":"RetrieveError","stackTrace":[]}`
	status, _ := post(t, s.url("/2018-06-01/runtime/invocation/"+inv.id+"/error"), doc,
		http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.Unknown"}})
	if status != http.StatusAccepted {
		t.Fatalf("POST error = %d; want 202", status)
	}
	out := <-inv.done
	want := FunctionError{ErrorType: "RetrieveError", ErrorMessage: "no token", TypeHeader: "Runtime.Unknown", Raw: []byte(doc)}
	if out.err == nil || out.err.ErrorType != want.ErrorType || out.err.ErrorMessage != want.ErrorMessage ||
		out.err.TypeHeader != want.TypeHeader || !bytes.Equal(out.err.Raw, want.Raw) {
		t.Errorf("outcome error = %+v; want %+v", out.err, want)
	}
}

// A streamed answer whose body fails part-way carries the error in trailers,
// as aws-lambda-go's errorCapturingReader sends it.
func TestTrailerErrorOnResponseIsAFunctionError(t *testing.T) {
	s := startAPI(t)
	inv := newTestInvocation(`{}`)
	deliver(t, s, inv)

	errDoc, _ := json.Marshal(map[string]string{"errorMessage": "stream broke", "errorType": "readError"})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
		s.url("/2018-06-01/runtime/invocation/"+inv.id+"/response"), io.MultiReader(strings.NewReader("partial")))
	req.Trailer = http.Header{
		"Lambda-Runtime-Function-Error-Type": {"readError"},
		"Lambda-Runtime-Function-Error-Body": {base64.StdEncoding.EncodeToString(errDoc)},
	}
	if status, _, _ := do(t, req); status != http.StatusAccepted {
		t.Fatalf("POST response with trailers = %d; want 202", status)
	}
	out := <-inv.done
	if out.err == nil || out.err.ErrorType != "readError" || out.err.ErrorMessage != "stream broke" || out.payload != nil {
		t.Errorf("outcome = %q, %+v; want the trailer's error", out.payload, out.err)
	}
}

func TestInitErrorIsAcceptedOnlyBeforeInitEnds(t *testing.T) {
	t.Run("before next", func(t *testing.T) {
		s := startAPI(t)
		status, _ := post(t, s.url("/2018-06-01/runtime/init/error"), `{"errorMessage":"m","errorType":"T"}`, nil)
		if status != http.StatusAccepted {
			t.Fatalf("POST init/error = %d; want 202", status)
		}
		<-s.initFailed
		if fe := s.initFailure(); fe == nil || fe.ErrorType != "T" || fe.ErrorMessage != "m" {
			t.Errorf("init error = %+v; want T: m", fe)
		}
		if status, _ := post(t, s.url("/2018-06-01/runtime/init/error"), `{}`, nil); status != http.StatusForbidden {
			t.Errorf("second POST init/error = %d; want 403", status)
		}
	})
	t.Run("after next", func(t *testing.T) {
		s := startAPI(t)
		deliver(t, s, newTestInvocation(`{}`))
		if status, body := post(t, s.url("/2018-06-01/runtime/init/error"), `{}`, nil); status != http.StatusForbidden {
			t.Errorf("POST init/error after GET /next = %d %s; want 403", status, body)
		}
	})
}

func TestExtensionRegistration(t *testing.T) {
	s := startAPI(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url("/2020-01-01/extension/register"), strings.NewReader(`{"events":[]}`))
	req.Header.Set("Lambda-Extension-Name", "GoLangEnableSIGTERM")
	status, h, body := do(t, req)
	if status != http.StatusOK || h.Get("Lambda-Extension-Identifier") == "" || !strings.Contains(body, `"functionName":"fn"`) {
		t.Errorf("POST extension/register = %d, id %q, %s; want 200 with an identifier", status, h.Get("Lambda-Extension-Identifier"), body)
	}

}

func TestLineWriterSplitsLines(t *testing.T) {
	b := &logBuffer{}
	w := &lineWriter{buf: b}
	for _, chunk := range []string{"one\ntw", "o\r\n", "\n", "three"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	w.flush()
	w.Write(bytes.Repeat([]byte("x"), maxLineLength+10))
	w.flush()
	lines := b.snapshot()
	want := []string{"one", "two", "", "three"}
	if len(lines) != 6 || strings.Join(lines[:4], "|") != strings.Join(want, "|") ||
		len(lines[4]) != maxLineLength || len(lines[5]) != 10 {
		t.Errorf("lines = %d %q…; want %q then an over-long line split at %d bytes", len(lines), lines[:min(4, len(lines))], want, maxLineLength)
	}
}
