package tokenrecord

import (
	"errors"
	"fmt"
	"strings"
)

// MaxProfileNameLen keeps parameter names well inside SSM's 1011-character
// limit.
const MaxProfileNameLen = 128

// LeaseSuffix ends the lease parameters the rotator keeps beside records
// ("<parameter>.lock"); no profile name or record parameter ends with it.
const LeaseSuffix = ".lock"

// CheckProfileName reports whether name is a valid profile name: 1 to 128
// letters, digits, '.', '_' and '-', not ending in LeaseSuffix. The rotator's
// profiles document and every reader apply the same rule.
func CheckProfileName(name string) error {
	switch {
	case name == "":
		return errors.New("is empty")
	case len(name) > MaxProfileNameLen:
		return fmt.Errorf("is longer than %d characters", MaxProfileNameLen)
	case strings.HasSuffix(name, LeaseSuffix):
		return fmt.Errorf("may not end in %q, which names the rotator's lease parameters", LeaseSuffix)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return errors.New("may contain only letters, digits, '.', '_' and '-'")
		}
	}
	return nil
}
