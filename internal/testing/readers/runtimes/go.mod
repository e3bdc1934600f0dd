module github.com/m2mtokens/oauth-token-rotator/internal/testing/readers/runtimes

go 1.26
