package readers

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// extension is a loopback stand-in of the AWS Parameters and Secrets
// Lambda Extension's documented HTTP API: GET
// /systemsmanager/parameters/get?name=…&withDecryption=true with the
// header X-Aws-Parameters-Secrets-Token equal to AWS_SESSION_TOKEN,
// answered with GetParameter's JSON, from a cache that holds each value
// until cleared (the real one holds it up to SSM_PARAMETER_STORE_TTL).
type extension struct {
	*httptest.Server
	client *ssm.Client
	mu     sync.Mutex
	cache  map[string][]byte
}

func newExtension(client *ssm.Client) *extension {
	e := &extension{client: client, cache: map[string][]byte{}}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	return e
}

func (e *extension) clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.cache)
}

func (e *extension) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/systemsmanager/parameters/get" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if r.Header.Get("X-Aws-Parameters-Secrets-Token") != "testing" { // AWS_SESSION_TOKEN of mototest.EnvFor
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	name := r.URL.Query().Get("name")
	e.mu.Lock()
	body, ok := e.cache[name]
	e.mu.Unlock()
	if !ok {
		out, err := e.client.GetParameter(r.Context(), &ssm.GetParameterInput{
			Name: aws.String(name), WithDecryption: aws.Bool(r.URL.Query().Get("withDecryption") == "true")})
		var nf *types.ParameterNotFound
		switch {
		case errors.As(err, &nf):
			http.Error(w, "parameter not found", http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "an unexpected error occurred", http.StatusInternalServerError)
			return
		}
		body, _ = json.Marshal(map[string]any{"Parameter": out.Parameter, "ResultMetadata": map[string]any{}})
		e.mu.Lock()
		e.cache[name] = body
		e.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
