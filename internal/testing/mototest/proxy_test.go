package mototest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProxyFaultMatch(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("forwarded "), b...))
	}))
	defer backend.Close()
	p := NewProxy(backend.URL)
	defer p.Close()
	p.Inject(Fault{Op: OpPutParameter, Match: `"Name":"/t/b"`, Status: 400, Body: `{"__type":"AccessDeniedException"}`, Times: 2})
	p.Inject(Fault{Op: OpGetParameters, Status: 400, Body: Throttle, Times: -1})

	call := func(op, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, p.URL, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", op)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call(OpPutParameter, `{"Name":"/t/a"}`); code != 200 || body != `forwarded {"Name":"/t/a"}` {
		t.Errorf("PutParameter /t/a = %d %q; want it forwarded with its body", code, body)
	}
	if code, _ := call(OpPutParameter, `{"Name":"/t/b.lock"}`); code != 200 {
		t.Errorf("PutParameter /t/b.lock = %d; want it forwarded (Match is the exact quoted name)", code)
	}
	for i := range 2 {
		if code, body := call(OpPutParameter, `{"Name":"/t/b"}`); code != 400 || !strings.Contains(body, "AccessDenied") {
			t.Errorf("PutParameter /t/b call %d = %d %q; want the fault", i, code, body)
		}
	}
	if n := p.Pending(OpPutParameter); n != 0 {
		t.Errorf("Pending(PutParameter) = %d; want 0 after two faulted calls", n)
	}
	if code, _ := call(OpPutParameter, `{"Name":"/t/b"}`); code != 200 {
		t.Errorf("third PutParameter /t/b = %d; want it forwarded", code)
	}
	if n := p.Pending(OpGetParameters); n != -1 {
		t.Errorf("Pending(GetParameters) = %d; want -1 (every call)", n)
	}
	p.Clear()
	if code, _ := call(OpGetParameters, `{}`); code != 200 || p.Pending(OpGetParameters) != 0 {
		t.Errorf("GetParameters after Clear = %d; want it forwarded", code)
	}
	if got := p.Count(OpPutParameter); got != 5 {
		t.Errorf("Count(PutParameter) = %d; want 5 (faulted calls included)", got)
	}
}
