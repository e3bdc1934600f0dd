package functions_test

import (
	"fmt"
	"regexp"
	"strings"
)

// ruleBuild: every function is built by the root Makefile's
// build-<LogicalId> target as a static arm64 bootstrap.
func ruleBuild(tpl map[string]any, makefile string) []string {
	var problems []string
	vars := makeVariables(makefile)
	for _, id := range resourcesOfType(tpl, "AWS::Serverless::Function") {
		if got := get(tpl, "Resources", id, "Metadata", "BuildMethod"); got != "makefile" {
			problems = append(problems, fmt.Sprintf("%s.Metadata.BuildMethod = %v; want makefile", id, got))
		}
		if got := get(tpl, "Resources", id, "Properties", "CodeUri"); got != "." {
			problems = append(problems, fmt.Sprintf("%s.CodeUri = %v; want . (the root Makefile)", id, got))
		}
		target := "build-" + id
		recipe, ok := makeRecipe(makefile, target)
		if !ok {
			problems = append(problems, fmt.Sprintf("Makefile: no target %s", target))
			continue
		}
		recipe = expandMake(recipe, vars)
		dir := strings.ToLower(strings.TrimSuffix(id, "Function"))
		need := []string{
			"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "-tags lambda.norpc", "-trimpath",
			"-ldflags", "-s -w", "-o $(ARTIFACTS_DIR)/bootstrap", "./functions/" + dir,
		}
		if id == rotatorID {
			need = append(need, "functions/rotator/profiles/*.yaml", "functions/rotator/profiles/*.pem", "$(ARTIFACTS_DIR)/profiles/")
		}
		for _, n := range need {
			if !strings.Contains(recipe, n) {
				problems = append(problems, fmt.Sprintf("Makefile %s: recipe lacks %q:\n%s", target, n, recipe))
			}
		}
	}
	return problems
}

var makeAssign = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*[:?]?=\s*(.*)$`)

// makeVariables reads simple VAR = value assignments. ARTIFACTS_DIR is left
// out: sam build sets it.
func makeVariables(makefile string) map[string]string {
	vars := map[string]string{}
	for _, line := range strings.Split(makefile, "\n") {
		if m := makeAssign.FindStringSubmatch(line); m != nil && m[1] != "ARTIFACTS_DIR" {
			vars[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return vars
}

// makeRecipe returns the tab-indented recipe lines of target.
func makeRecipe(makefile, target string) (string, bool) {
	lines := strings.Split(makefile, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, target+":") {
			continue
		}
		var recipe []string
		for _, l := range lines[i+1:] {
			if !strings.HasPrefix(l, "\t") {
				break
			}
			recipe = append(recipe, strings.TrimPrefix(l, "\t"))
		}
		return strings.Join(recipe, "\n"), true
	}
	return "", false
}

// expandMake substitutes $(VAR) for the known variables, then normalises
// -ldflags="-s -w" quoting so either quoting style matches.
func expandMake(s string, vars map[string]string) string {
	for range 5 {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "$("+k+")", v)
		}
	}
	return strings.ReplaceAll(s, `"`, "")
}
