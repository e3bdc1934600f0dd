// Package throttle recognises an AWS call refused for its rate, for the
// two places that wait and call again: the rotator's record writes
// (internal/rotate) and the consumer cache's reads (pkg/tokencache).
// Parameter Store answers ThrottlingException; the other codes are those
// AWS services answer for the same refusal.
package throttle
