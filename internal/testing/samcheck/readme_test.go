package samcheck

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

const readmePath = "../../../README.md"

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		line string
		want []string
	}{
		{"plain", "sam build", []string{"sam", "build"}},
		{"comment", "sam deploy   # the sandbox", []string{"sam", "deploy"}},
		{"hash inside a word", "echo a#b", []string{"echo", "a#b"}},
		{"single quotes", "sam logs --start-time '30 min ago'", []string{"sam", "logs", "--start-time", "30 min ago"}},
		{"double quotes and escapes", `x "a \"b\" c" d\ e`, []string{"x", `a "b" c`, "d e"}},
		{"operators", "sam build && sam deploy|jq .; ls", []string{"sam", "build", "&&", "sam", "deploy", "|", "jq", ".", ";", "ls"}},
		{"redirections", "sam local generate-event cloudwatch scheduled-event > ev.json 2>&1", []string{"sam", "local", "generate-event", "cloudwatch", "scheduled-event"}},
		{"empty quotes", `a "" b`, []string{"a", "", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.line)
			if err != nil {
				t.Fatalf("Split(%q): %v", tt.line, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split(%q) = %q; want %q", tt.line, got, tt.want)
			}
		})
	}
	for _, bad := range []string{`a 'b`, `a "b`, "sleep 1 &"} {
		if got, err := Split(bad); err == nil {
			t.Errorf("Split(%q) = %q; want an error", bad, got)
		}
	}
}

func TestDeployBlock(t *testing.T) {
	tests := []struct {
		name    string
		readme  string
		want    []string
		wantErr string
	}{
		{
			name:   "fenced, with comments",
			readme: "# Deploy\n" + BeginDeploy + "\n```sh\n# first\nsam validate --lint  # lint\n\nsam deploy --config-env production\n```\n" + EndDeploy + "\n",
			want:   []string{"sam validate --lint", "sam deploy --config-env production"},
		},
		{name: "missing", readme: "sam build\n", wantErr: "no Deploy block"},
		{name: "unclosed", readme: BeginDeploy + "\nsam build\n", wantErr: "no Deploy block"},
		{name: "twice", readme: BeginDeploy + "\n" + BeginDeploy + "\n" + EndDeploy, wantErr: "twice"},
		{name: "end first", readme: EndDeploy + "\n" + BeginDeploy, wantErr: "before"},
		{name: "empty", readme: BeginDeploy + "\n```sh\n```\n" + EndDeploy, wantErr: "holds no sam command"},
		{name: "not sam", readme: BeginDeploy + "\naws s3 ls\n" + EndDeploy, wantErr: `"aws s3 ls" is not one sam command`},
		{name: "two commands on a line", readme: BeginDeploy + "\nsam build && sam deploy\n" + EndDeploy, wantErr: "not one sam command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, err := DeployBlock(tt.readme)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DeployBlock() error = %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cmds {
				got = append(got, c.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DeployBlock() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	readme := "Run `sam build && sam deploy` or `sam local`; not `make sam-check` nor `samconfig.toml`.\n" +
		"```sh\n" +
		"AWS_PROFILE=prod sam deploy --config-env production\n" +
		"sam logs --stack-name s -n RotatorFunction \\\n  --start-time '30 min ago' | head\n" +
		"aws lambda invoke --function-name x out.json\n" +
		"```\n" +
		"```json\n{\"sam\": 1}\n```\n"
	cmds, err := Commands(readme)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cmds {
		got = append(got, c.String())
	}
	want := []string{
		"sam build", "sam deploy", "sam local",
		"sam deploy --config-env production",
		"sam logs --stack-name s -n RotatorFunction --start-time '30 min ago'",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Commands() = %q; want %q", got, want)
	}
	if cmds[4].Line != 4 {
		t.Errorf("sam logs is on line %d; want 4 (where it starts)", cmds[4].Line)
	}
}

func TestCommandFlag(t *testing.T) {
	c := Command{Args: []string{"deploy", "--config-env", "production", "--no-confirm-changeset", "--region=eu-west-1"}}
	tests := []struct {
		flag   string
		want   string
		wantOK bool
	}{
		{"--config-env", "production", true},
		{"--no-confirm-changeset", "", true},
		{"--region", "eu-west-1", true},
		{"--s3-bucket", "", false},
	}
	for _, tt := range tests {
		if got, ok := c.Flag(tt.flag); got != tt.want || ok != tt.wantOK {
			t.Errorf("Flag(%q) = %q, %v; want %q, %v", tt.flag, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestREADMEDeployBlock keeps the README's Deploy block in a shape that
// make sam-check can run: validate, then build, then deploy, sam commands
// only. make sam-check runs it for real.
func TestREADMEDeployBlock(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := DeployBlock(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSequence(cmds); err != nil {
		t.Error(err)
	}
}

// TestDocumentsParse keeps every sam command of the README and docs/ in a
// shape make sam-check can look up in the SAM CLI's help.
func TestDocumentsParse(t *testing.T) {
	docs, err := readDocuments("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 2 || docs[0].Path != "README.md" {
		t.Fatalf("readDocuments = %d files; want README.md first, then docs/*.md", len(docs))
	}
	n := 0
	for _, d := range docs {
		cmds, err := Commands(d.Text)
		if err != nil {
			t.Errorf("%s: %v", d.Path, err)
		}
		n += len(cmds)
	}
	if n == 0 {
		t.Error("the README and docs/ hold no sam command")
	}
}

func TestCheckSequence(t *testing.T) {
	cmd := func(line string) Command {
		w, err := Split(line)
		if err != nil {
			t.Fatal(err)
		}
		return Command{Line: 1, Args: w[1:]}
	}
	tests := []struct {
		name    string
		lines   []string
		wantErr string
	}{
		{"ok", []string{"sam validate --lint", "sam build", "sam deploy", "sam deploy --config-env production"}, ""},
		{"no lint", []string{"sam validate", "sam build", "sam deploy"}, "without --lint"},
		{"no build", []string{"sam validate --lint", "sam deploy"}, "no sam build"},
		{"deploy first", []string{"sam deploy", "sam validate --lint", "sam build"}, "then sam deploy"},
		{"guided", []string{"sam validate --lint", "sam build", "sam deploy --guided"}, "interactive"},
		{"other command", []string{"sam validate --lint", "sam build", "sam sync", "sam deploy"}, "sam sync"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cmds []Command
			for _, l := range tt.lines {
				cmds = append(cmds, cmd(l))
			}
			err := CheckSequence(cmds)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckSequence(%q) = %v; want nil", tt.lines, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckSequence(%q) = %v; want an error containing %q", tt.lines, err, tt.wantErr)
			}
		})
	}
}
