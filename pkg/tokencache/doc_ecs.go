// # Why not ECS secrets valueFrom
//
// ECS can inject an SSM parameter into a container's environment
// ("secrets": [{"name": "TOKEN", "valueFrom": "arn:…:parameter/oauth-tokens/…"}]),
// but it reads the parameter once, when the container starts. When the
// rotator writes the next token the task keeps the old one until it expires,
// and every request then fails until the task is replaced. A task that lives
// longer than a token must read the record itself, through a Cache (which
// re-reads after MaxAge, so it follows the record as it rotates) or one of
// the readers in pkg/tokenrecord/readers for Python and Node.
//
// # Read access
//
// The role that runs a consumer needs ssm:GetParameter on the record (and
// kms:Decrypt through SSM when the records use a customer managed key): the
// stack exports a managed policy granting exactly that,
// <stack>-TokenReaderPolicyArn. Attach it to the ECS task role, not the
// execution role.
package tokencache
