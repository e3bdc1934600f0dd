package mototest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestQuotas checks the quota model: buckets shared by their operations,
// refilled at their rate, and a refused call answered exactly as SSM
// answers one (and not forwarded).
func TestQuotas(t *testing.T) {
	forwarded := 0
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forwarded++
		_, _ = io.WriteString(w, "{}")
	}))
	defer backend.Close()
	p := NewProxy(backend.URL)
	defer p.Close()
	clock := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	p.q.now = func() time.Time { return clock }
	p.SetQuotas(
		Quota{Name: "reads", Ops: []string{OpGetParameter, OpGetParameters}, Rate: 4},
		Quota{Name: "puts", Ops: []string{OpPutParameter}, Rate: 3, Burst: 1},
	)
	type answer struct {
		code        int
		errorType   string
		body        string
		contentType string
	}
	call := func(op string) answer {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, p.URL, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", op)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), string(b), resp.Header.Get("Content-Type")}
	}
	throttled := answer{400, "ThrottlingException", `{"__type":"ThrottlingException","message":"Rate exceeded"}`, "application/x-amz-json-1.1"}

	for _, tt := range []struct {
		name    string
		advance time.Duration
		op      string
		want    int // 200 or 400
	}{
		{"reads: burst of 4 (Rate rounded up)", 0, OpGetParameter, 200},
		{"reads: second of the burst", 0, OpGetParameters, 200},
		{"reads: third", 0, OpGetParameter, 200},
		{"reads: fourth", 0, OpGetParameters, 200},
		{"reads: fifth is throttled, whichever read it is", 0, OpGetParameter, 400},
		{"reads: a quarter second refills one", 250 * time.Millisecond, OpGetParameters, 200},
		{"reads: and only one", 0, OpGetParameter, 400},
		{"puts: a bucket of their own (Burst 1)", 0, OpPutParameter, 200},
		{"puts: second at once is throttled", 0, OpPutParameter, 400},
		{"puts: a third of a second later, one more", 334 * time.Millisecond, OpPutParameter, 200},
		{"no quota: never throttled", 0, OpGetSecretValue, 200},
		{"no quota: again", 0, OpGetSecretValue, 200},
	} {
		clock = clock.Add(tt.advance)
		got := call(tt.op)
		switch {
		case tt.want == 400 && got != throttled:
			t.Errorf("%s: %s = %+v; want %+v", tt.name, tt.op, got, throttled)
		case tt.want == 200 && got.code != 200:
			t.Errorf("%s: %s = %+v; want it forwarded", tt.name, tt.op, got)
		}
	}
	if got, want := p.Throttled(OpGetParameter)+p.Throttled(OpGetParameters), 2; got != want {
		t.Errorf("Throttled(reads) = %d; want %d", got, want)
	}
	if got := p.Throttled(OpPutParameter); got != 1 {
		t.Errorf("Throttled(PutParameter) = %d; want 1", got)
	}
	if forwarded != 9 {
		t.Errorf("backend saw %d calls; want 9 (throttled calls are not forwarded)", forwarded)
	}
	if got := p.Count(OpGetParameter) + p.Count(OpGetParameters); got != 7 {
		t.Errorf("Count(reads) = %d; want 7 (throttled calls are counted)", got)
	}
	p.SetQuotas()
	for range 10 {
		if got := call(OpPutParameter); got.code != 200 {
			t.Fatalf("PutParameter after SetQuotas() = %+v; want no quota", got)
		}
	}
}

func TestDefaultQuotas(t *testing.T) {
	rates := map[string]float64{}
	for _, q := range DefaultQuotas(PutTPS) {
		for _, op := range q.Ops {
			rates[op] = q.Rate
		}
	}
	for op, want := range map[string]float64{
		OpGetParameter: 40, OpGetParameters: 40, OpGetParametersByPath: 40,
		OpPutParameter: 3, OpDeleteParam: 3, OpGetSecretValue: 10000,
	} {
		if rates[op] != want {
			t.Errorf("DefaultQuotas(PutTPS): %s at %v/s; want %v", op, rates[op], want)
		}
	}
	if q := DefaultQuotas(PutTPSHigherThroughput); q[1].Rate != 10 {
		t.Errorf("DefaultQuotas(PutTPSHigherThroughput): PutParameter at %v/s; want 10", q[1].Rate)
	}
}
