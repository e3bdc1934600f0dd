package mototest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Region is the region every client of the emulator uses.
const Region = "us-east-1"

// InstallHint says how to get moto_server.
const InstallHint = `moto_server not found on PATH: install it with  pip install "moto[server]"`

// ErrNotInstalled is returned by Launch when moto_server is not on the PATH.
var ErrNotInstalled = errors.New("mototest: " + InstallHint)

// Server is a running moto_server.
type Server struct {
	// URL is the emulator's endpoint, for example http://127.0.0.1:41234.
	URL string

	cmd  *exec.Cmd
	done chan struct{}
	log  *strings.Builder
}

// Launch starts moto_server on a free loopback port and waits until it
// answers; Output returns what it printed. Call Close to stop it.
func Launch(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := launchOn(ctx, bin, port)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launchOn(ctx context.Context, bin string, port int) (*Server, error) {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	logBuf := &strings.Builder{}
	cmd.Stdout = &lockedWriter{b: logBuf}
	cmd.Stderr = cmd.Stdout
	// Own process group, so Close also stops whatever the pyenv shim starts.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mototest: start moto_server: %w", err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{}), log: logBuf}
	go func() { _ = cmd.Wait(); close(s.done) }()

	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/data.json", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("mototest: moto_server on port %d exited early: %s", port, s.Output())
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("mototest: moto_server on port %d did not answer within 30s: %s", port, s.Output())
		}
	}
}

// Start launches moto_server for one test (or benchmark) and stops it when
// the test ends. Without moto_server it skips, or fails under CI=true.
func Start(tb testing.TB) *Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Launch(ctx)
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v (CI=true: integration tests must run)", err)
		}
		tb.Skip(err.Error())
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for it to exit. It is safe to call more
// than once.
func (s *Server) Close() {
	if s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Output returns what moto_server has printed so far.
func (s *Server) Output() string {
	lw := s.cmd.Stdout.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return s.log.String()
}

// Reset drops every resource in the emulator.
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("mototest: reset: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mototest: reset: status %d", resp.StatusCode)
	}
	return nil
}

// Env returns the environment variables that point a process's AWS SDK at
// this emulator: AWS_ENDPOINT_URL, a region and dummy static credentials.
func (s *Server) Env() []string {
	return EnvFor(s.URL)
}

// EnvFor returns the AWS environment for an emulator (or a proxy in front
// of one) at url.
func EnvFor(url string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + url,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_SESSION_TOKEN=testing",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// AWSConfig returns an SDK configuration for this emulator, built with
// config.LoadDefaultConfig, as a library user builds theirs. (The function
// binaries use awsenv, which reads the variables EnvFor sets.)
func (s *Server) AWSConfig(ctx context.Context) (aws.Config, error) {
	return ConfigFor(ctx, s.URL)
}

// ConfigFor returns an SDK configuration for an emulator (or a proxy in
// front of one) at url. Extra options, such as the retryer a function
// configures, apply after the emulator's.
func ConfigFor(ctx context.Context, url string, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx, append([]func(*config.LoadOptions) error{
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "testing")),
		config.WithBaseEndpoint(url),
		config.WithEC2IMDSRegion(),
	}, opts...)...)
}

// Clients returns SSM and Secrets Manager clients for this emulator. It
// fails the test on error.
func (s *Server) Clients(tb testing.TB) (*ssm.Client, *secretsmanager.Client) {
	tb.Helper()
	cfg, err := s.AWSConfig(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return ssm.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
}

// PutSecret creates (or replaces) a Secrets Manager secret with a string value.
func (s *Server) PutSecret(ctx context.Context, name, value string) error {
	cfg, err := s.AWSConfig(ctx)
	if err != nil {
		return err
	}
	sm := secretsmanager.NewFromConfig(cfg)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)})
	}
	if err != nil {
		return fmt.Errorf("mototest: put secret %q: %w", name, err)
	}
	return nil
}

// PutClientSecret stores the contract's credentials JSON
// {"client_id": …, "client_secret": …} under name.
func (s *Server) PutClientSecret(ctx context.Context, name, clientID, clientSecret string) error {
	return s.PutSecret(ctx, name, fmt.Sprintf(`{"client_id":%q,"client_secret":%q}`, clientID, clientSecret))
}

// MustPutClientSecret is PutClientSecret that fails the test on error.
func (s *Server) MustPutClientSecret(tb testing.TB, name, clientID, clientSecret string) {
	tb.Helper()
	if err := s.PutClientSecret(context.Background(), name, clientID, clientSecret); err != nil {
		tb.Fatal(err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("mototest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
