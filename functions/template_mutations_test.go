package functions_test

import (
	"strings"
	"testing"
)

// TestTemplateRulesCatchMutations breaks a parsed copy of the template (or
// the Makefile) in the ways a careless edit would, and checks that a rule
// reports it.
func TestTemplateRulesCatchMutations(t *testing.T) {
	sub := func(s string) any { return map[string]any{"Fn::Sub": s} }
	stmt := func(tpl map[string]any, owner, sid string) map[string]any {
		stmts, _ := collectStatements(tpl)
		s := findStatement(stmts, owner, sid)
		if s == nil {
			t.Fatalf("no %s statement %s to mutate", owner, sid)
		}
		return s
	}
	// addStatement appends an unconditional statement to a function's
	// first inline policy.
	addStatement := func(tpl map[string]any, fn string, s map[string]any) {
		items, _ := get(tpl, "Resources", fn, "Properties", "Policies").([]any)
		for _, it := range items {
			if doc, ok := it.(map[string]any); ok && doc["Statement"] != nil {
				list, _ := doc["Statement"].([]any)
				doc["Statement"] = append(list, s)
				return
			}
		}
		t.Fatalf("%s has no inline policy to add to", fn)
	}
	props := func(tpl map[string]any, id string) map[string]any { return getMap(tpl, "Resources", id, "Properties") }

	tests := []struct {
		name   string
		mutate func(tpl map[string]any, mk *string)
		want   string
	}{
		{
			name: "rotator writes on Resource *",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "WriteTokenRecords")["Resource"] = "*"
			},
			want: `grants ssm:PutParameter on Resource "*"`,
		},
		{
			name: "consumer reads every parameter",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, "ConsumerFunction", map[string]any{"Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": "*"})
			},
			want: `on Resource "*"`,
		},
		{
			name: "reader policy decrypts with any key",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, readerID, "DecryptTokenRecordsThroughSSM")["Resource"] = []any{"*"}
			},
			want: `grants kms:Decrypt on Resource "*"`,
		},
		{
			name: "Allow with NotResource",
			mutate: func(tpl map[string]any, _ *string) {
				s := stmt(tpl, rotatorID, "ReadTokenRecords")
				delete(s, "Resource")
				s["NotResource"] = sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/other")
			},
			want: "Allow with NotResource",
		},
		{
			name: "rotator reads secrets beyond SecretsPrefix",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "ReadClientCredentials")["Resource"] = sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*")
			},
			want: "is not scoped to SecretsPrefix",
		},
		{
			name: "rotator manages secrets",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "ReadClientCredentials")["Action"] = "secretsmanager:*"
			},
			want: "the rotator needs only secretsmanager:GetSecretValue",
		},
		{
			name: "consumer reads secrets",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, "ConsumerFunction", map[string]any{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": sub(secretsArn)})
			},
			want: "only RotatorFunction may touch Secrets Manager",
		},
		{
			name: "rotator writes outside the token prefix",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "WriteTokenRecords")["Resource"] = sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/*")
			},
			want: "is outside TokenParameterPrefix",
		},
		{
			name: "rotator labels parameter versions",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "WriteTokenRecords")["Action"] = []any{"ssm:PutParameter", "ssm:LabelParameterVersion"}
			},
			want: "grants ssm:LabelParameterVersion; the rotator needs only",
		},
		{
			name: "rotator deletes token records",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "ReleaseLeases")["Resource"] = sub(parameterArnPrefix + "*")
			},
			want: "grants ssm:DeleteParameter on \"arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${TokenParameterPrefix}/*\"; the rotator may delete, or read the versions of, only its leases",
		},
		{
			name: "rotator reads the versions of token records",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "ReadTokenRecords")["Action"] = []any{"ssm:GetParameters", "ssm:GetParameterHistory"}
			},
			want: "grants ssm:GetParameterHistory on \"arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${TokenParameterPrefix}/*\"; the rotator may delete, or read the versions of, only its leases",
		},
		{
			name: "rotator deletes in bulk",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "ReleaseLeases")["Action"] = "ssm:Delete*"
			},
			want: "grants ssm:Delete*; the rotator needs only",
		},
		{
			name: "rotator cannot write",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "WriteTokenRecords")["Action"] = "ssm:GetParameter"
			},
			want: "no unconditional ssm:PutParameter",
		},
		{
			name: "reader policy writes",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, readerID, "ReadTokenRecords")["Action"] = []any{"ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter"}
			},
			want: "TokenReaderPolicy grants write action ssm:PutParameter",
		},
		{
			name: "reader policy may read the failure record",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, readerID, "NeverTheFailureRecord")["Effect"] = "Allow"
			},
			want: "TokenReaderPolicy: does not deny ssm:* on " + parameterArnPrefix + ".rotator.failures",
		},
		{
			name: "reader policy may read the leases",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, readerID, "NeverTheLeases")["Resource"] = "*"
			},
			want: "TokenReaderPolicy: does not deny ssm:* on " + leaseArn,
		},
		{
			name: "consumer writes with a wildcard action",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, "ConsumerFunction", "ReadOwnTokenRecord")["Action"] = "ssm:*"
			},
			want: "ConsumerFunction grants write action ssm:*",
		},
		{
			name: "consumer encrypts",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, "ConsumerFunction", "DecryptOwnTokenRecordThroughSSM")["Action"] = []any{"kms:Decrypt", "kms:Encrypt"}
			},
			want: "grants write action kms:Encrypt",
		},
		{
			name: "kms grant outside the condition",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, rotatorID, map[string]any{
					"Effect": "Allow", "Action": "kms:Decrypt", "Resource": map[string]any{"Ref": "KmsKeyId"},
					"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}},
				})
			},
			want: "grants kms:Decrypt outside the HasKmsKey condition",
		},
		{
			name: "kms grant without ViaService",
			mutate: func(tpl map[string]any, _ *string) {
				delete(stmt(tpl, rotatorID, "UseTokenKeyThroughSSM"), "Condition")
			},
			want: "without a kms:ViaService condition",
		},
		{
			name: "secrets key usable through SSM",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager"), "Condition", "StringEquals")["kms:ViaService"] =
					map[string]any{"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}
			},
			want: `want "secretsmanager.${AWS::Region}.amazonaws.com"`,
		},
		{
			name: "secrets key for any secret",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager"), "Condition"), "StringLike")
			},
			want: "without a kms:EncryptionContext:SecretARN condition",
		},
		{
			name: "secrets key for every secret of the account",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager"), "Condition", "StringLike")["kms:EncryptionContext:SecretARN"] =
					map[string]any{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*"}
			},
			want: `kms:EncryptionContext:SecretARN "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*" opens more`,
		},
		{
			name: "token key for every parameter",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(stmt(tpl, rotatorID, "UseTokenKeyThroughSSM"), "Condition", "StringLike")["kms:EncryptionContext:PARAMETER_ARN"] = "*"
			},
			want: `kms:EncryptionContext:PARAMETER_ARN "*" opens more`,
		},
		{
			name: "token key without its parameter context",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(stmt(tpl, rotatorID, "UseTokenKeyThroughSSM"), "Condition"), "StringLike")
			},
			want: "without a kms:EncryptionContext:PARAMETER_ARN condition",
		},
		{
			name: "secrets key grant outside its condition",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, rotatorID, map[string]any{
					"Effect": "Allow", "Action": "kms:Decrypt", "Resource": map[string]any{"Ref": "SecretsKmsKeyId"},
				})
			},
			want: "grants kms:Decrypt outside the HasSecretsKmsKey condition",
		},
		{
			name: "kms grant on a key of neither parameter",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager")["Resource"] = "arn:aws:kms:eu-west-1:123456789012:key/other"
			},
			want: "want exactly one configured key",
		},
		{
			name: "rotator encrypts with the secrets key",
			mutate: func(tpl map[string]any, _ *string) {
				stmt(tpl, rotatorID, "DecryptClientCredentialsThroughSecretsManager")["Action"] = []any{"kms:Decrypt", "kms:Encrypt"}
			},
			want: "grants kms:Encrypt on ${SecretsKmsKeyId}; the rotator needs only kms:Decrypt",
		},
		{
			name: "a reader may decrypt client credentials",
			mutate: func(tpl map[string]any, _ *string) {
				addStatement(tpl, "ConsumerFunction", map[string]any{
					"Effect": "Allow", "Action": "kms:Decrypt", "Resource": map[string]any{"Ref": "SecretsKmsKeyId"},
				})
			},
			want: "only the rotator may use that key",
		},
		{
			name: "HasSecretsKmsKey always true",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(tpl, "Conditions")[secretsKmsCond] = map[string]any{"Fn::Equals": []any{"a", "a"}}
			},
			want: "Conditions.HasSecretsKmsKey",
		},
		{
			name: "HasKmsKey always true",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(tpl, "Conditions")[kmsCond] = map[string]any{"Fn::Equals": []any{"a", "a"}}
			},
			want: "Conditions.HasKmsKey",
		},
		{
			name: "AWS managed policy attached by name",
			mutate: func(tpl map[string]any, _ *string) {
				p := props(tpl, "ConsumerFunction")
				p["Policies"] = append(p["Policies"].([]any), "AmazonSSMReadOnlyAccess")
			},
			want: `attaches policy "AmazonSSMReadOnlyAccess" by name`,
		},
		{
			name: "SAM policy template",
			mutate: func(tpl map[string]any, _ *string) {
				p := props(tpl, rotatorID)
				p["Policies"] = append(p["Policies"].([]any), map[string]any{"SSMParameterReadPolicy": map[string]any{"ParameterName": "*"}})
			},
			want: "uses a SAM policy template",
		},
		{
			name: "empty SecretsPrefix deployable",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(tpl, "Parameters", "SecretsPrefix")["AllowedPattern"] = ".*"
			},
			want: `Parameters.SecretsPrefix: AllowedPattern ".*" accepts ""`,
		},
		{
			name: "runtime overridden",
			mutate: func(tpl map[string]any, _ *string) {
				props(tpl, rotatorID)["Runtime"] = "provided.al2"
			},
			want: "RotatorFunction.Runtime = provided.al2 overrides Globals",
		},
		{
			name: "text logs",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(tpl, "Globals", "Function", "LoggingConfig")["LogFormat"] = "Text"
			},
			want: "LogFormat = Text; want JSON",
		},
		{
			name: "rotator may run twice at once",
			mutate: func(tpl map[string]any, _ *string) {
				props(tpl, rotatorID)["ReservedConcurrentExecutions"] = 2
			},
			want: "ReservedConcurrentExecutions = 2; want 1",
		},
		{
			name: "schedule hard-coded",
			mutate: func(tpl map[string]any, _ *string) {
				for _, ev := range getMap(props(tpl, rotatorID), "Events") {
					getMap(ev, "Properties")["Schedule"] = "rate(1 hour)"
				}
			},
			want: "Properties.Schedule = rate(1 hour)",
		},
		{
			name: "credentials check removed",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(props(tpl, rotatorID), "Events"), "CredentialsCheck")
			},
			want: "Events.CredentialsCheck: missing",
		},
		{
			name: "credentials check sends a plain scheduled run",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(props(tpl, rotatorID), "Events", "CredentialsCheck", "Properties"), "Input")
			},
			want: "Events.CredentialsCheck.Properties.Input = <nil>",
		},
		{
			name: "rotator timeout back to 120 s",
			mutate: func(tpl map[string]any, _ *string) {
				props(tpl, rotatorID)["Timeout"] = 120
			},
			want: "RotatorFunction.Timeout = 120; want 900",
		},
		{
			name: "write rate not passed to the rotator",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(props(tpl, rotatorID), "Environment", "Variables"), "ROTATOR_WRITE_RATE")
			},
			want: "ROTATOR_WRITE_RATE",
		},
		{
			name: "profiles file not per environment",
			mutate: func(tpl map[string]any, _ *string) {
				getMap(props(tpl, rotatorID), "Environment", "Variables")["PROFILES_FILE"] = "profiles/production.yaml"
			},
			want: "RotatorFunction environment PROFILES_FILE",
		},
		{
			name: "build method dropped",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(tpl, "Resources", "ConsumerFunction", "Metadata"), "BuildMethod")
			},
			want: "ConsumerFunction.Metadata.BuildMethod = <nil>; want makefile",
		},
		{
			name: "Makefile drops lambda.norpc",
			mutate: func(_ map[string]any, mk *string) {
				*mk = strings.ReplaceAll(*mk, "-tags lambda.norpc ", "")
			},
			want: `recipe lacks "-tags lambda.norpc"`,
		},
		{
			name: "Makefile stops copying profiles",
			mutate: func(_ map[string]any, mk *string) {
				*mk = strings.ReplaceAll(*mk, "cp functions/rotator/profiles/*.yaml $(ARTIFACTS_DIR)/profiles/", "")
			},
			want: `build-RotatorFunction: recipe lacks "functions/rotator/profiles/*.yaml"`,
		},
		{
			name: "Makefile stops copying CA bundles",
			mutate: func(_ map[string]any, mk *string) {
				*mk = strings.ReplaceAll(*mk, "functions/rotator/profiles/*.pem", "")
			},
			want: `build-RotatorFunction: recipe lacks "functions/rotator/profiles/*.pem"`,
		},
		{
			name: "rotator loses its CA bundle",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(tpl, "Resources", rotatorID, "Properties", "Environment", "Variables"), "SSL_CERT_FILE")
			},
			want: "RotatorFunction environment SSL_CERT_FILE",
		},
		{
			name: "stalled alarm ignores a stopped rotator",
			mutate: func(tpl map[string]any, _ *string) {
				props(tpl, "RotationStalledAlarm")["TreatMissingData"] = "notBreaching"
			},
			want: "RotationStalledAlarm.TreatMissingData = notBreaching; want breaching",
		},
		{
			name: "reader policy not exported",
			mutate: func(tpl map[string]any, _ *string) {
				delete(getMap(tpl, "Outputs", "TokenReaderPolicyArn"), "Export")
			},
			want: "Outputs.TokenReaderPolicyArn: not exported",
		},
	}
	if problems := templateProblems(loadTemplate(t), loadMakefile(t)); len(problems) != 0 {
		t.Fatalf("templateProblems of the unchanged template = %q; want none", problems)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := loadTemplate(t)
			mk := loadMakefile(t)
			tt.mutate(tpl, &mk)
			problems := templateProblems(tpl, mk)
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("after %q, templateProblems = %q; want one containing %q", tt.name, problems, tt.want)
		})
	}
}
