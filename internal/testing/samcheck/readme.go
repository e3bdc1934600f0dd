package samcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The lines that enclose the README's Deploy commands.
const (
	BeginDeploy = "<!-- BEGIN deploy -->"
	EndDeploy   = "<!-- END deploy -->"
)

// document is a Markdown file whose sam commands are checked.
type document struct {
	// Path is the file's path from the repository root, such as
	// "docs/operating.md".
	Path string
	// Text is its content.
	Text string
}

// readDocuments reads the Markdown files a user copies commands from: the
// README and every docs/*.md under the repository root.
func readDocuments(root string) ([]document, error) {
	paths, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, fmt.Errorf("samcheck: list docs: %w", err)
	}
	var docs []document
	for _, p := range append([]string{filepath.Join(root, "README.md")}, paths...) {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("samcheck: %w", err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil, fmt.Errorf("samcheck: %w", err)
		}
		docs = append(docs, document{Path: filepath.ToSlash(rel), Text: string(b)})
	}
	return docs, nil
}

// Command is one sam invocation written in the README.
type Command struct {
	// Line is the README line it is on (1-based).
	Line int
	// Args are the words after "sam", unquoted: ["deploy", "--config-env", "production"].
	Args []string
}

// String returns the command as a shell line, "sam deploy --config-env production".
func (c Command) String() string {
	words := []string{"sam"}
	for _, a := range c.Args {
		if a == "" || strings.ContainsAny(a, " \t'\"$`\\|&;<>()*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// Flag returns the value of a --name VALUE or --name=VALUE argument, and
// whether the command has that flag at all.
func (c Command) Flag(name string) (string, bool) {
	for i, a := range c.Args {
		if a == name {
			if i+1 < len(c.Args) && !strings.HasPrefix(c.Args[i+1], "-") {
				return c.Args[i+1], true
			}
			return "", true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// DeployBlock returns the commands between the lines BeginDeploy and
// EndDeploy of a README, in order. Code fences, blank lines and comment
// lines may stand between them; any other line must be one sam command
// (a trailing # comment is allowed), so that the block is exactly a
// sequence that `make sam-check` can run.
func DeployBlock(readme string) ([]Command, error) {
	lines := strings.Split(readme, "\n")
	begin, end := -1, -1
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case BeginDeploy:
			if begin >= 0 {
				return nil, fmt.Errorf("samcheck: README has %s twice (lines %d and %d); keep one Deploy block", BeginDeploy, begin+1, i+1)
			}
			begin = i
		case EndDeploy:
			if begin < 0 {
				return nil, fmt.Errorf("samcheck: README line %d: %s before %s", i+1, EndDeploy, BeginDeploy)
			}
			if end < 0 {
				end = i
			}
		}
	}
	if begin < 0 || end < 0 {
		return nil, fmt.Errorf("samcheck: README has no Deploy block: put the deploy commands between the lines %s and %s", BeginDeploy, EndDeploy)
	}
	var cmds []Command
	for i := begin + 1; i < end; i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "```") || strings.HasPrefix(l, "#") {
			continue
		}
		words, err := Split(l)
		if err != nil {
			return nil, fmt.Errorf("samcheck: README line %d (Deploy block): %w", i+1, err)
		}
		if len(words) < 2 || words[0] != "sam" || hasOperator(words) {
			return nil, fmt.Errorf("samcheck: README line %d (Deploy block): %q is not one sam command; the block may hold only sam commands, one a line", i+1, l)
		}
		cmds = append(cmds, Command{Line: i + 1, Args: words[1:]})
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("samcheck: README's Deploy block (lines %d-%d) holds no sam command", begin+1, end+1)
	}
	return cmds, nil
}

// inlineCode matches a Markdown code span.
var inlineCode = regexp.MustCompile("`([^`\n]+)`")

// Commands returns every sam invocation in a README: in fenced code blocks
// (a line, or a part of a line between &&, ||, | and ;, whose first word
// after any VAR=value assignments is sam) and in inline code spans written
// the same way. A line ending in a backslash continues on the next.
func Commands(readme string) ([]Command, error) {
	var cmds []Command
	lines := strings.Split(readme, "\n")
	inFence := false
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
			continue
		}
		var texts []string
		lineNo := i + 1
		if inFence {
			for strings.HasSuffix(l, `\`) && i+1 < len(lines) {
				i++
				l = strings.TrimSuffix(l, `\`) + " " + strings.TrimSpace(lines[i])
			}
			texts = []string{l}
		} else {
			for _, m := range inlineCode.FindAllStringSubmatch(l, -1) {
				texts = append(texts, m[1])
			}
		}
		for _, text := range texts {
			if !strings.Contains(text, "sam ") && strings.TrimSpace(text) != "sam" {
				continue
			}
			words, err := Split(text)
			if err != nil {
				if inFence {
					return nil, fmt.Errorf("samcheck: README line %d: %w", lineNo, err)
				}
				continue // prose in backquotes need not be shell
			}
			for _, seg := range segments(words) {
				if len(seg) > 1 && seg[0] == "sam" {
					cmds = append(cmds, Command{Line: lineNo, Args: seg[1:]})
				}
			}
		}
	}
	return cmds, nil
}

var operators = map[string]bool{"&&": true, "||": true, "|": true, ";": true}

func hasOperator(words []string) bool {
	for _, w := range words {
		if operators[w] {
			return true
		}
	}
	return false
}

// assignment matches a leading VAR=value word of a shell command.
var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// segments splits words at shell operators and drops each part's leading
// VAR=value assignments.
func segments(words []string) [][]string {
	var out [][]string
	var cur []string
	flush := func() {
		for len(cur) > 0 && assignment.MatchString(cur[0]) {
			cur = cur[1:]
		}
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for _, w := range words {
		if operators[w] {
			flush()
			continue
		}
		cur = append(cur, w)
	}
	flush()
	return out
}

// CheckSequence returns an error unless the Deploy block's commands are
// what make sam-check runs: sam validate --lint, sam build and sam deploy,
// each at least once, first validated, then built, then deployed, and none
// interactive (--guided).
func CheckSequence(cmds []Command) error {
	first := map[string]int{}
	for i, c := range cmds {
		sub := c.Args[0]
		switch sub {
		case "validate", "build", "deploy":
		default:
			return fmt.Errorf("samcheck: README line %d (Deploy block): %s; the block may hold sam validate, sam build and sam deploy only", c.Line, c)
		}
		if _, guided := c.Flag("--guided"); guided {
			return fmt.Errorf("samcheck: README line %d (Deploy block): %s is interactive; samconfig.toml holds the answers", c.Line, c)
		}
		if _, seen := first[sub]; !seen {
			first[sub] = i
		}
	}
	for _, sub := range []string{"validate", "build", "deploy"} {
		if _, ok := first[sub]; !ok {
			return fmt.Errorf("samcheck: README's Deploy block has no sam %s; it must validate, build and deploy", sub)
		}
	}
	if first["validate"] > first["build"] || first["build"] > first["deploy"] {
		return fmt.Errorf("samcheck: README's Deploy block runs %s first; want sam validate, then sam build, then sam deploy", cmds[0])
	}
	for _, c := range cmds {
		if _, lint := c.Flag("--lint"); c.Args[0] == "validate" && !lint {
			return fmt.Errorf("samcheck: README line %d (Deploy block): %s without --lint skips cfn-lint", c.Line, c)
		}
	}
	return nil
}
