package tokencache_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache"
	"github.com/m2mtokens/oauth-token-rotator/pkg/tokencache/tokencachetest"
)

// TestRoleHintNamesTheCause: an AccessDeniedException read through the
// reader role says what to change for the cause SSM's message names. The
// messages are SSM's own, as reported from real accounts: a KMS denial
// names AWSKMS and the key or kms:Decrypt
// (github.com/hashicorp/terraform-provider-aws/issues/42849,
// github.com/tryolabs/aws-workshop/issues/6), an SSM denial
// ssm:GetParameter and the parameter ARN (mototest's proxy answers the
// same). A message naming neither lists every cause.
func TestRoleHintNamesTheCause(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/oauth-token-rotator-sandbox-CrossAcc-ReaderRole-Q1W2E3R4T5Y6"
	for _, c := range []struct {
		name, message string
		want, not     []string
	}{
		{"KMS: no policy allows kms:Decrypt", "User: arn:aws:sts::123456789012:assumed-role/reader/s is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab because no resource-based policy allows the kms:Decrypt action (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: x; Proxy: null)",
			[]string{"cannot decrypt it", "KmsKeyId", "key policy"}, []string{"rotator's region", "CrossAccountReaderProfiles"}},
		{"KMS: the ciphertext's key", "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access. (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: x)",
			[]string{"cannot decrypt it", "KmsKeyId"}, []string{"CrossAccountReaderProfiles"}},
		{"SSM", "User: arn:aws:sts::123456789012:assumed-role/reader/s is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:eu-central-1:123456789012:parameter/oauth-tokens/aviv-caas-agency-42",
			[]string{"may not read this record", "rotator's region", "CrossAccountReaderProfiles"}, []string{"KmsKeyId"}},
		{"neither", "Access denied",
			[]string{"rotator's region", "CrossAccountReaderProfiles", "KmsKeyId"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := &tokencachetest.Store{OnRead: func(context.Context, string) error {
				return &smithy.OperationError{ServiceID: "SSM", OperationName: "GetParameter",
					Err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: c.message}}
			}}
			_, err := tokencache.New(store, tokencache.Config{RoleARN: role}).Source("aviv-caas-agency-42").Token(context.Background())
			if err == nil {
				t.Fatal("Token = nil error; want the denial")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			hint, _, _ := strings.Cut(err.Error(), c.message) // SSM's own message may name anything
			for _, n := range c.not {
				if strings.Contains(hint, n) {
					t.Errorf("error %q blames %q, which this denial is not about", hint, n)
				}
			}
		})
	}
}
