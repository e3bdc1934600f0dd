package cfntest

import (
	"encoding/json"
	"fmt"
	"path/filepath"
)

// The logical IDs ReaderRole follows: template.yaml's nested stack and
// the role in functions/reader-role.yaml.
const (
	ReaderStackID = "CrossAccountReaders"
	ReaderRoleID  = "ReaderRole"
)

// Role is a rendered IAM role.
type Role struct {
	// ARN is the role's ARN in the stack's account. CloudFormation names
	// the role itself (<stack>-<logical id>-<random>); tests use
	// <StackName>-ReaderRole.
	ARN string
	// Trust is the AssumeRolePolicyDocument, as JSON.
	Trust []byte
	// Policies are the inline policies' documents, as JSON.
	Policies [][]byte
	// NestedParams are the parameters template.yaml passes to
	// functions/reader-role.yaml.
	NestedParams map[string]string
}

// ReaderRole renders root/template.yaml for s and, when that creates the
// CrossAccountReaders stack, root/reader-role.yaml with the parameters
// template.yaml passes it. ok is false when template.yaml creates no such
// stack for s.
func ReaderRole(root string, s Stack) (role Role, ok bool, err error) {
	parent, err := Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return Role{}, false, err
	}
	out, err := Render(parent, s)
	if err != nil {
		return Role{}, false, err
	}
	stack := asMap(asMap(out["Resources"])[ReaderStackID])
	if stack == nil {
		return Role{}, false, nil
	}
	props := asMap(stack["Properties"])
	file, _ := props["TemplateURL"].(string)
	nested := Stack{Params: map[string]string{}, Account: s.Account, Region: s.Region, StackName: s.StackName + "-" + ReaderStackID}
	for k, v := range asMap(props["Parameters"]) {
		str, isString := v.(string)
		if !isString {
			return Role{}, false, fmt.Errorf("cfntest: %s parameter %s renders to %v, not a string", ReaderStackID, k, v)
		}
		nested.Params[k] = str
	}
	role, err = RoleIn(filepath.Join(root, file), ReaderRoleID, nested)
	role.NestedParams = nested.Params
	return role, err == nil, err
}

// RoleIn renders the template at path for s and returns its role id.
func RoleIn(path, id string, s Stack) (Role, error) {
	t, err := Load(path)
	if err != nil {
		return Role{}, err
	}
	out, err := Render(t, s)
	if err != nil {
		return Role{}, err
	}
	res := asMap(asMap(out["Resources"])[id])
	if res["Type"] != "AWS::IAM::Role" {
		return Role{}, fmt.Errorf("cfntest: %s has no AWS::IAM::Role %s for these parameters", path, id)
	}
	props := asMap(res["Properties"])
	role := Role{ARN: fmt.Sprintf("arn:aws:iam::%s:role/%s-%s", s.Account, s.StackName, id)}
	if role.Trust, err = json.Marshal(props["AssumeRolePolicyDocument"]); err != nil {
		return Role{}, err
	}
	policies, _ := props["Policies"].([]any)
	for _, p := range policies {
		doc, err := json.Marshal(asMap(p)["PolicyDocument"])
		if err != nil {
			return Role{}, err
		}
		role.Policies = append(role.Policies, doc)
	}
	return role, nil
}
