package samcheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// awsAPI makes the few S3 and CloudFormation calls the check needs to look
// at what SAM left in moto, signed with the dummy credentials (moto reads
// the service from the signature's scope).
type awsAPI struct {
	endpoint string
	region   string
}

func (a awsAPI) do(ctx context.Context, service, method, path string, query url.Values, body []byte) ([]byte, error) {
	u := a.endpoint + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if service == "cloudformation" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	creds := aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, service, a.region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign %s %s: %w", method, path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s %s: status %d: %s", service, method, path, resp.StatusCode, b)
	}
	return b, nil
}

// createBucket makes an S3 bucket in the API's region.
func (a awsAPI) createBucket(ctx context.Context, bucket string) error {
	body := fmt.Sprintf(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>`, a.region)
	_, err := a.do(ctx, "s3", http.MethodPut, "/"+bucket, nil, []byte(body))
	return err
}

// getObject returns an object's bytes.
func (a awsAPI) getObject(ctx context.Context, bucket, key string) ([]byte, error) {
	return a.do(ctx, "s3", http.MethodGet, "/"+bucket+"/"+key, nil, nil)
}

// cfn calls a CloudFormation action and decodes its XML answer into out.
func (a awsAPI) cfn(ctx context.Context, action string, params map[string]string, out any) error {
	form := url.Values{"Action": {action}, "Version": {"2010-05-15"}}
	for k, v := range params {
		form.Set(k, v)
	}
	b, err := a.do(ctx, "cloudformation", http.MethodPost, "/", nil, []byte(form.Encode()))
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := xml.Unmarshal(b, out); err != nil {
		return fmt.Errorf("cloudformation %s: decode %q: %w", action, strings.TrimSpace(string(b)), err)
	}
	return nil
}

type changeSetSummary struct {
	ChangeSetName   string
	ChangeSetID     string `xml:"ChangeSetId"`
	Status          string
	ExecutionStatus string
}

type listChangeSets struct {
	Summaries []changeSetSummary `xml:"ListChangeSetsResult>Summaries>member"`
}

type changeSet struct {
	StackName       string `xml:"DescribeChangeSetResult>StackName"`
	Status          string `xml:"DescribeChangeSetResult>Status"`
	StatusReason    string `xml:"DescribeChangeSetResult>StatusReason"`
	ExecutionStatus string `xml:"DescribeChangeSetResult>ExecutionStatus"`
	Parameters      []struct {
		Key   string `xml:"ParameterKey"`
		Value string `xml:"ParameterValue"`
	} `xml:"DescribeChangeSetResult>Parameters>member"`
	Changes []struct {
		Action     string `xml:"ResourceChange>Action"`
		LogicalID  string `xml:"ResourceChange>LogicalResourceId"`
		ResourceTy string `xml:"ResourceChange>ResourceType"`
	} `xml:"DescribeChangeSetResult>Changes>member"`
}

func (c changeSet) parameter(key string) (string, bool) {
	for _, p := range c.Parameters {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

type listBucket struct {
	Contents []struct {
		Key          string
		LastModified time.Time
	}
}

// objectsNewestFirst returns the keys of the objects under prefix whose
// key ends in suffix, newest first (keys of one second in key order: S3's
// LastModified has a resolution of one second).
func (a awsAPI) objectsNewestFirst(ctx context.Context, bucket, prefix, suffix string) ([]string, error) {
	b, err := a.do(ctx, "s3", http.MethodGet, "/"+bucket, url.Values{"list-type": {"2"}, "prefix": {prefix}}, nil)
	if err != nil {
		return nil, err
	}
	var list listBucket
	if err := xml.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("s3 list %s/%s: %w", bucket, prefix, err)
	}
	contents := list.Contents[:0]
	for _, c := range list.Contents {
		if strings.HasSuffix(c.Key, suffix) {
			contents = append(contents, c)
		}
	}
	if len(contents) == 0 {
		return nil, fmt.Errorf("s3://%s/%s has no *%s", bucket, prefix, suffix)
	}
	sort.SliceStable(contents, func(i, j int) bool {
		if !contents[i].LastModified.Equal(contents[j].LastModified) {
			return contents[i].LastModified.After(contents[j].LastModified)
		}
		return contents[i].Key < contents[j].Key
	})
	keys := make([]string, len(contents))
	for i, c := range contents {
		keys[i] = c.Key
	}
	return keys, nil
}
