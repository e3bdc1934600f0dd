package mototest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// moto maps every request to an account by its access key: keys from an
// AssumeRole answer belong to the role's account, and any key moto did not
// issue (such as the "testing" keys of EnvFor) to DefaultAccount. So a
// test acts as account B by assuming any role of B first (moto checks no
// trust policy for it), and reads account A's records by assuming A's
// reader role with B's credentials.

// DefaultAccount is the account moto puts a request in when it did not
// issue the request's access key: the account of EnvFor's credentials,
// where the rotator writes its records in these tests.
const DefaultAccount = "123456789012"

// Role is an IAM role the proxy enforces as AWS would (moto does not; see
// iam.go): its trust policy decides every sts:AssumeRole of it, and its
// permission policies every call made with its sessions' credentials.
type Role struct {
	// ARN is the role's ARN, arn:aws:iam::<account>:role/<name>.
	ARN string
	// Trust is its trust policy (AssumeRolePolicyDocument), as JSON.
	Trust []byte
	// Policies are its permission policies, as JSON.
	Policies [][]byte
}

// Placement is where an account sits in AWS Organizations: what
// aws:PrincipalOrgID and aws:PrincipalOrgPaths hold for its principals.
type Placement struct {
	// OrgID is the organization, such as o-a1b2c3d4e5.
	OrgID string
	// Path is the account's organization path, such as
	// o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/.
	Path string
}

// EnforceRole makes the proxy enforce r from now on. It fails when r's
// policies are not JSON.
func (p *Proxy) EnforceRole(r Role) error {
	for _, doc := range append([][]byte{r.Trust}, r.Policies...) {
		if !json.Valid(doc) {
			return fmt.Errorf("mototest: role %s: a policy is not JSON: %s", r.ARN, doc)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.roles == nil {
		p.roles = map[string]Role{}
	}
	p.roles[r.ARN] = r
	return nil
}

// PlaceAccount puts account in an organization, for the trust policies'
// aws:PrincipalOrgID and aws:PrincipalOrgPaths conditions.
func (p *Proxy) PlaceAccount(account string, pl Placement) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.orgs == nil {
		p.orgs = map[string]Placement{}
	}
	p.orgs[account] = pl
}

// Refusals returns the messages of the requests the proxy refused for an
// enforced role, in order.
func (p *Proxy) Refusals() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.refusals...)
}

// signature reads what SigV4 says of a request: access key, region,
// service.
var signature = regexp.MustCompile(`Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request`)

// call is what the proxy knows of one request.
type call struct {
	key, region, service string
	form                 url.Values // query-protocol (STS) parameters
	body                 []byte
}

func readCall(r *http.Request, body []byte) call {
	c := call{body: body}
	if m := signature.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.key, c.region, c.service = m[1], m[2], m[3]
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		c.form, _ = url.ParseQuery(string(body))
	}
	return c
}

// operation names a request for counting: its X-Amz-Target, sts.<Action>
// for STS's query protocol, else method and path.
func operation(r *http.Request, c call) string {
	if op := r.Header.Get("X-Amz-Target"); op != "" {
		return op
	}
	if c.service == "sts" && c.form.Get("Action") != "" {
		return "sts." + c.form.Get("Action")
	}
	return r.Method + " " + r.URL.Path
}

// OpAssumeRole is STS AssumeRole, as counted by Proxy.
const OpAssumeRole = "sts.AssumeRole"

// caller returns who signed c: a session the proxy saw issued, or moto's
// default account.
func (p *Proxy) caller(c call) identity {
	if id, ok := p.sessions[c.key]; ok {
		return id
	}
	return identity{Account: DefaultAccount, ARN: "arn:aws:iam::" + DefaultAccount + ":user/moto"}
}

// authorize decides a request against the enforced roles: an AssumeRole
// of one against its trust policy, any call of one's session against its
// permission policies. It returns the refusal to answer, or nil.
func (p *Proxy) authorize(c call, op string) *refusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := p.caller(c)
	if op == OpAssumeRole {
		if role, ok := p.roles[c.form.Get("RoleArn")]; ok {
			return p.check([][]byte{role.Trust}, evalRequest{action: "sts:AssumeRole", caller: id, context: p.trustContext(id, c)}, role.ARN, true)
		}
	}
	role, ok := p.roles[id.RoleARN]
	if !ok || op == "sts.GetCallerIdentity" {
		return nil
	}
	action, resources := actionOf(c, op, id)
	for _, res := range resources {
		if r := p.check(role.Policies, evalRequest{action: action, resource: res, caller: id}, res, false); r != nil {
			return r
		}
	}
	return nil
}

// check evaluates and, when the answer is no, records and returns the
// refusal in AWS's words.
func (p *Proxy) check(docs [][]byte, req evalRequest, resource string, trust bool) *refusal {
	d, err := evaluate(docs, req)
	if d == allowed && err == nil {
		return nil
	}
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", req.caller.ARN, req.action, resource)
	switch {
	case err != nil:
		msg += " (mototest cannot evaluate the policy: " + err.Error() + ")"
	case !trust && d == denied:
		msg += " with an explicit deny in an identity-based policy"
	case !trust:
		msg += " because no identity-based policy allows the " + req.action + " action"
	}
	p.refusals = append(p.refusals, msg)
	return &refusal{query: trust, message: msg}
}

// trustContext is what a trust policy's conditions may ask of the caller.
func (p *Proxy) trustContext(id identity, c call) map[string][]string {
	ctx := map[string][]string{
		"aws:principalaccount": {id.Account},
		"aws:principalarn":     {id.principalARN()},
		"sts:rolesessionname":  {c.form.Get("RoleSessionName")},
	}
	if v := c.form.Get("ExternalId"); v != "" {
		ctx["sts:externalid"] = []string{v}
	}
	if pl, ok := p.orgs[id.Account]; ok {
		ctx["aws:principalorgid"] = []string{pl.OrgID}
		ctx["aws:principalorgpaths"] = []string{pl.Path}
	}
	return ctx
}

// actionOf names the IAM action and resources of a call: SSM's parameter
// ARNs, the role of an AssumeRole, "*" for anything else.
func actionOf(c call, op string, id identity) (string, []string) {
	if c.form.Get("Action") != "" {
		if c.form.Get("RoleArn") != "" {
			return c.service + ":" + c.form.Get("Action"), []string{c.form.Get("RoleArn")}
		}
		return c.service + ":" + c.form.Get("Action"), []string{"*"}
	}
	_, name, _ := strings.Cut(op, ".")
	action := c.service + ":" + name
	if c.service != "ssm" {
		return action, []string{"*"}
	}
	var in struct {
		Name  string
		Names []string
		Path  string
	}
	_ = json.Unmarshal(c.body, &in)
	var res []string
	for _, n := range append(append([]string{in.Name}, in.Names...), in.Path) {
		if n == "" {
			continue
		}
		if !strings.HasPrefix(n, "arn:") {
			n = fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", c.region, id.Account, strings.TrimPrefix(n, "/"))
		}
		res = append(res, n)
	}
	if len(res) == 0 {
		res = []string{"*"}
	}
	return action, res
}

// refusal is an AccessDenied answer.
type refusal struct {
	query   bool // STS's query protocol (XML), else JSON
	message string
}

func (r *refusal) write(w http.ResponseWriter) {
	if r.query {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		var msg bytes.Buffer
		_ = xml.EscapeText(&msg, []byte(r.message))
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`+
			`<Code>AccessDenied</Code><Message>%s</Message></Error><RequestId>mototest</RequestId></ErrorResponse>`, msg.String())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
	w.WriteHeader(http.StatusBadRequest)
	b, _ := json.Marshal(map[string]string{"__type": "AccessDeniedException", "message": r.message})
	_, _ = w.Write(b)
}

// assumeKey carries an AssumeRole's role ARN to the response hook.
type assumeKey struct{}

func withAssume(r *http.Request, c call, op string) *http.Request {
	if op != OpAssumeRole {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), assumeKey{}, c.form.Get("RoleArn")))
}

// learn records the session an AssumeRole answer issued: its access key
// now stands for the role's account and session.
func (p *Proxy) learn(resp *http.Response) error {
	roleARN, ok := resp.Request.Context().Value(assumeKey{}).(string)
	if !ok || resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var out struct {
		Result struct {
			Credentials struct {
				AccessKeyID string `xml:"AccessKeyId"`
			} `xml:"Credentials"`
			User struct{ Arn string } `xml:"AssumedRoleUser"`
		} `xml:"AssumeRoleResult"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("mototest: AssumeRole answer: %w", err)
	}
	account := strings.Split(roleARN, ":")
	if len(account) < 5 {
		return fmt.Errorf("mototest: AssumeRole of %q: not a role ARN", roleARN)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions == nil {
		p.sessions = map[string]identity{}
	}
	p.sessions[out.Result.Credentials.AccessKeyID] = identity{Account: account[4], ARN: out.Result.User.Arn, RoleARN: roleARN}
	return nil
}
