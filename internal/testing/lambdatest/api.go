package lambdatest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Header and trailer names of the Lambda Runtime API, as the aws-lambda-go
// runtime client (lambda/runtime_api_client.go) spells them.
const (
	headerRequestID          = "Lambda-Runtime-Aws-request-Id"
	headerDeadlineMS         = "Lambda-Runtime-Deadline-Ms"
	headerInvokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID            = "Lambda-Runtime-Trace-Id"
	headerErrorType          = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody         = "Lambda-Runtime-Function-Error-Body"
	headerExtensionName      = "Lambda-Extension-Name"
	headerExtensionID        = "Lambda-Extension-Identifier"
)

// maxResponseSize is the largest answer Lambda accepts from a function
// invoked synchronously (6 MiB). A larger answer is refused with 413 and the
// invocation fails with errorType Function.ResponseSizeTooLarge.
const maxResponseSize = 6 << 20

// maxErrorSize bounds the error documents the fake API reads.
const maxErrorSize = 1 << 20

// invocation is one event on its way to the function and back.
type invocation struct {
	id          string
	payload     []byte
	timeout     time.Duration
	functionARN string
	traceID     string

	// Set by the /next handler before delivered is closed.
	deliveredAt time.Time
	deadline    time.Time
	delivered   chan struct{}

	done chan outcome // buffered: the first answer for this id
}

type outcome struct {
	payload []byte
	err     *FunctionError
	at      time.Time
}

// apiServer is the fake Runtime API. It hands queued invocations to the
// runtime's GET /next and matches answers to them by request id.
type apiServer struct {
	srv    *http.Server
	ln     net.Listener
	addr   string // host:port for AWS_LAMBDA_RUNTIME_API
	served chan struct{}

	// Handlers in progress, so that close can wait for them. (A WaitGroup
	// would race: a request may arrive while close waits.)
	hmu      sync.Mutex
	active   int
	shutdown bool
	idle     chan struct{} // closed when shutdown and no handler is active

	queue   chan *invocation // unbuffered: a send completes when a GET /next takes it
	closing chan struct{}    // closed by close

	ready      chan struct{} // closed at the first GET /next
	initFailed chan struct{} // closed when /init/error is accepted

	functionName string // for the extension registration answer

	mu         sync.Mutex
	firstNext  time.Time
	initErr    *FunctionError
	inflight   map[string]*invocation
	extensions int
}

func newAPIServer(functionName string) (*apiServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdatest: runtime API listener: %w", err)
	}
	s := &apiServer{
		ln:           ln,
		addr:         ln.Addr().String(),
		served:       make(chan struct{}),
		idle:         make(chan struct{}),
		queue:        make(chan *invocation),
		closing:      make(chan struct{}),
		ready:        make(chan struct{}),
		initFailed:   make(chan struct{}),
		functionName: functionName,
		inflight:     map[string]*invocation{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.initError)
	mux.HandleFunc("POST /2020-01-01/extension/register", s.registerExtension)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", s.extensionNext)
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.enter() {
				writeAPIError(w, http.StatusServiceUnavailable, "Runtime.Closed", "lambdatest: the runtime is closing")
				return
			}
			defer s.leave()
			mux.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// close stops the server and waits until its handlers have returned.
func (s *apiServer) close() {
	close(s.closing)
	_ = s.srv.Close()
	<-s.served
	s.hmu.Lock()
	s.shutdown = true
	wait := s.active > 0
	s.hmu.Unlock()
	if wait {
		<-s.idle
	}
}

// enter counts a handler in, unless the server is shut down.
func (s *apiServer) enter() bool {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.shutdown {
		return false
	}
	s.active++
	return true
}

// leave counts a handler out.
func (s *apiServer) leave() {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	s.active--
	if s.shutdown && s.active == 0 {
		close(s.idle)
	}
}

// firstNextAt returns when the runtime first asked for an invocation, or the
// zero time.
func (s *apiServer) firstNextAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstNext
}

// initFailure returns the error posted to /init/error, or nil.
func (s *apiServer) initFailure() *FunctionError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initErr
}

func (s *apiServer) next(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.firstNext.IsZero() {
		s.firstNext = time.Now()
		close(s.ready)
	}
	s.mu.Unlock()

	var inv *invocation
	select {
	case inv = <-s.queue:
	case <-r.Context().Done():
		return
	case <-s.closing:
		writeAPIError(w, http.StatusInternalServerError, "Runtime.Closed", "lambdatest: the runtime is closing")
		return
	}

	now := time.Now()
	inv.deliveredAt = now
	inv.deadline = now.Add(inv.timeout)
	s.mu.Lock()
	s.inflight[inv.id] = inv
	s.mu.Unlock()
	close(inv.delivered)

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadlineMS, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(headerInvokedFunctionARN, inv.functionARN)
	h.Set(headerTraceID, inv.traceID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// take removes and returns the in-flight invocation id, or nil.
func (s *apiServer) take(id string) *invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := s.inflight[id]
	delete(s.inflight, id)
	return inv
}

func (s *apiServer) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseSize+1))
	at := time.Now()
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "lambdatest: read response: "+err.Error())
		return
	}
	inv := s.take(r.PathValue("id"))
	if inv == nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	if len(body) > maxResponseSize {
		fe := &FunctionError{
			ErrorType:    "Function.ResponseSizeTooLarge",
			ErrorMessage: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseSize),
		}
		writeAPIError(w, http.StatusRequestEntityTooLarge, fe.ErrorType, fe.ErrorMessage)
		inv.done <- outcome{err: fe, at: at}
		return
	}
	// A streamed answer that failed part-way carries the error in trailers.
	if typ := r.Trailer.Get(headerErrorType); typ != "" {
		raw, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		fe := parseFunctionError(raw, typ)
		writeAccepted(w)
		inv.done <- outcome{err: fe, at: at}
		return
	}
	writeAccepted(w)
	inv.done <- outcome{payload: body, at: at}
}

func (s *apiServer) invocationError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxErrorSize))
	at := time.Now()
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "lambdatest: read error: "+err.Error())
		return
	}
	inv := s.take(r.PathValue("id"))
	if inv == nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	writeAccepted(w)
	inv.done <- outcome{err: parseFunctionError(body, r.Header.Get(headerErrorType)), at: at}
}

func (s *apiServer) initError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxErrorSize))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "lambdatest: read init error: "+err.Error())
		return
	}
	fe := parseFunctionError(body, r.Header.Get(headerErrorType))
	s.mu.Lock()
	if s.initErr != nil || !s.firstNext.IsZero() {
		s.mu.Unlock()
		writeAPIError(w, http.StatusForbidden, "InvalidStateTransition", "State transition from Ready to InitError failed")
		return
	}
	s.initErr = fe
	close(s.initFailed)
	s.mu.Unlock()
	writeAccepted(w)
}

func (s *apiServer) registerExtension(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxErrorSize))
	if r.Header.Get(headerExtensionName) == "" {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "missing "+headerExtensionName)
		return
	}
	s.mu.Lock()
	s.extensions++
	s.mu.Unlock()
	w.Header().Set(headerExtensionID, newUUID())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName":    s.functionName,
		"functionVersion": "$LATEST",
		"handler":         "bootstrap",
	})
}

// extensionNext blocks: lambdatest sends no INVOKE or SHUTDOWN events to
// extensions, which is all an internal extension such as aws-lambda-go's
// SIGTERM enabler needs.
func (s *apiServer) extensionNext(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.closing:
	}
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeAPIError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": errorType, "errorMessage": message})
}

// parseFunctionError reads an error document such as aws-lambda-go posts:
// {"errorMessage": "...", "errorType": "...", "stackTrace": [...]}.
func parseFunctionError(raw []byte, typeHeader string) *FunctionError {
	fe := &FunctionError{TypeHeader: typeHeader, Raw: raw}
	var doc struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal(raw, &doc) == nil {
		fe.ErrorType, fe.ErrorMessage = doc.Type, doc.Message
	}
	if fe.ErrorType == "" {
		fe.ErrorType = typeHeader
	}
	return fe
}

// newUUID returns a random (version 4) UUID, the form of Lambda request ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newTraceID returns an X-Ray trace header value of the form Lambda sends.
func newTraceID(now time.Time) string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), randomHex(12), randomHex(8))
}
