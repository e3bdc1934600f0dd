package oauthtest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
)

func post(t *testing.T, url, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "test/1")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestTokenEndpointAndAPI(t *testing.T) {
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := NewServer()
	defer s.Close()
	s.Now = func() time.Time { return clock }
	s.AddClient("id", "secret")
	body := `{"grant_type":"client_credentials","client_id":"id","client_secret":"secret","audience":"https://api.aviv-group.com/caas/v3","intermediary_id":"a-42"}`
	status, m := post(t, s.TokenURL("aviv-caas"), body, nil)
	tok, _ := m["access_token"].(string)
	if status != 200 || tok == "" || m["expires_in"] != float64(86400) || m["token_type"] != "Bearer" {
		t.Fatalf("token = %d %v; want 200 with a 24h Bearer token", status, m)
	}
	if rec := s.Requests()[0]; rec.Params["intermediary_id"] != "a-42" || !rec.SecretOK || rec.UserAgent != "test/1" {
		t.Errorf("recorded %+v", rec)
	}
	if status, _ := post(t, s.TokenURL("aviv-caas"), strings.Replace(body, "secret\"", "wrong\"", 1), nil); status != 401 {
		t.Errorf("wrong secret: status %d; want 401", status)
	}
	if status, _ := post(t, s.TokenURL("partner"), `{"grant_type":"client_credentials","client_id":"id","client_secret":"secret"}`, map[string]string{"Accept": "text/html"}); status != 406 {
		t.Errorf("partner without Accept: status %d; want 406", status)
	}

	call := func(token, ua string) int {
		req, _ := http.NewRequest(http.MethodGet, s.APIURL()+"/caas/v3/listings", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if ua != "" {
			req.Header.Set("User-Agent", ua)
		} else {
			req.Header["User-Agent"] = []string{""}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call(tok, "x/1"); got != 200 {
		t.Errorf("API with the token = %d; want 200", got)
	}
	if got := call(tok, ""); got != 403 {
		t.Errorf("API without User-Agent = %d; want 403 (AVIV's firewall)", got)
	}
	if got := call("forged", "x/1"); got != 401 {
		t.Errorf("API with a forged token = %d; want 401", got)
	}
	clock = clock.Add(24 * time.Hour)
	if got := call(tok, "x/1"); got != 401 {
		t.Errorf("API with an expired token = %d; want 401", got)
	}
	clock = clock.Add(-time.Hour)
	s.Revoke(tok)
	if got := call(tok, "x/1"); got != 401 || s.Valid(tok) {
		t.Errorf("API with a revoked token = %d; want 401", got)
	}
}

func TestFaults(t *testing.T) {
	s := NewServer(Pliant)
	defer s.Close()
	s.AddClient("id", "secret")
	s.Inject(Fault{Status: 503, Times: 2, Header: map[string]string{"Retry-After": "1"}})
	body := `{"grant_type":"client_credentials","client_id":"id","client_secret":"secret","audience":"api.getpliant.com/api/integration"}`
	for i, want := range []int{503, 503, 200} {
		if status, _ := post(t, s.TokenURL("pliant"), body, nil); status != want {
			t.Errorf("request %d: status %d; want %d", i, status, want)
		}
	}
	if n := len(s.IssuedTokens()); n != 1 {
		t.Errorf("issued %d tokens; want 1 (faulted answers issue none)", n)
	}
}

func TestLocalize(t *testing.T) {
	s := NewServer()
	defer s.Close()
	for _, f := range []string{"sandbox.yaml", "production.yaml"} {
		doc, err := readSample(f)
		if err != nil {
			t.Fatal(err)
		}
		local, err := s.Localize(doc)
		if err != nil {
			t.Fatalf("Localize(%s) = %v", f, err)
		}
		ps, err := profile.Parse(local, profile.Options{})
		if err != nil {
			t.Fatalf("localized %s does not parse: %v", f, err)
		}
		for _, p := range ps {
			if !strings.HasPrefix(p.TokenURL, s.URL+"/") {
				t.Errorf("%s: profile %s token_url = %s; want the local server", f, p.Name, p.TokenURL)
			}
		}
	}
	if _, err := s.Localize([]byte("profiles:\n  - name: x\n    token_url: https://elsewhere.example/token\n    audience: unknown\n")); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("Localize(unknown provider) = %v; want an error naming the profile", err)
	}
}

func readSample(name string) ([]byte, error) {
	return os.ReadFile("../../../functions/rotator/profiles/" + name)
}
