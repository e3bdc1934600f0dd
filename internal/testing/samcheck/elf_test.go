package samcheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildHello builds an empty Go program for linux/goarch with extra go
// build flags, as a bootstrap candidate.
func buildHello(t *testing.T, goarch string, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bootstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append(append([]string{"build", "-o", out}, flags...), src)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

func TestCheckBootstrap(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on the PATH")
	}
	notELF := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		chmod   os.FileMode
		wantErr []string // empty: CheckBootstrap must accept it
	}{
		{name: "static arm64", path: func(t *testing.T) string { return buildHello(t, "arm64") }},
		{name: "amd64", path: func(t *testing.T) string { return buildHello(t, "amd64") }, wantErr: []string{"EM_X86_64", "want EM_AARCH64"}},
		{name: "PIE arm64", path: func(t *testing.T) string { return buildHello(t, "arm64", "-buildmode=pie") },
			wantErr: []string{"ET_DYN", "PT_INTERP", "PT_DYNAMIC"}},
		{name: "not executable by others", path: func(t *testing.T) string { return buildHello(t, "arm64") }, chmod: 0o700,
			wantErr: []string{"-rwx------", "0755"}},
		{name: "shell script", path: func(*testing.T) string { return notELF }, wantErr: []string{"not an ELF executable"}},
		{name: "missing", path: func(t *testing.T) string { return filepath.Join(t.TempDir(), "bootstrap") }, wantErr: []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.path(t)
			if tt.chmod != 0 {
				if err := os.Chmod(path, tt.chmod); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckBootstrap(path)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("CheckBootstrap(%s) = %v; want nil", tt.name, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckBootstrap(%s) = nil; want an error naming %q", tt.name, tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckBootstrap(%s) = %v; want it to name %q", tt.name, err, w)
				}
			}
		})
	}
}
