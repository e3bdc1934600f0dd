package samcheck

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// CheckBootstrap returns nil if the file at path is what the provided.al2023
// runtime on arm64 can execute as a function's bootstrap: a 64-bit
// little-endian ELF executable for aarch64, statically linked (no program
// interpreter, no dynamic section, no shared libraries: the runtime image
// has no Go toolchain's libc to offer), readable and executable by everyone.
// Otherwise the error names the file and every property that is wrong.
func CheckBootstrap(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("samcheck: bootstrap: %w", err)
	}
	return checkBootstrap(path, fi.Mode())
}

// CheckBootstrapMode is CheckBootstrap for a file whose permission bits are
// known separately, as for an entry of a zip archive extracted to path.
func CheckBootstrapMode(path string, mode fs.FileMode) error {
	return checkBootstrap(path, mode)
}

func checkBootstrap(path string, mode fs.FileMode) error {
	var problems []error
	if !mode.IsRegular() {
		problems = append(problems, fmt.Errorf("not a regular file (%v)", mode))
	}
	if mode.Perm()&0o555 != 0o555 {
		problems = append(problems, fmt.Errorf("mode %v; want r-x for owner, group and others (0755)", mode.Perm()))
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("samcheck: bootstrap %s: not an ELF executable: %w", path, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		problems = append(problems, fmt.Errorf("%v %v; want ELFCLASS64 ELFDATA2LSB", f.Class, f.Data))
	}
	if f.Machine != elf.EM_AARCH64 {
		problems = append(problems, fmt.Errorf("machine %v; want EM_AARCH64 (GOARCH=arm64, as template.yaml's Architectures: [arm64])", f.Machine))
	}
	if f.Type != elf.ET_EXEC {
		problems = append(problems, fmt.Errorf("type %v; want ET_EXEC (a static, non-PIE executable)", f.Type))
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			problems = append(problems, errors.New("has a program interpreter (PT_INTERP): dynamically linked; build with CGO_ENABLED=0"))
		case elf.PT_DYNAMIC:
			problems = append(problems, errors.New("has a dynamic section (PT_DYNAMIC): dynamically linked; build with CGO_ENABLED=0"))
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		problems = append(problems, fmt.Errorf("needs shared libraries %v", libs))
	}
	if len(problems) > 0 {
		return fmt.Errorf("samcheck: bootstrap %s: %w", path, errors.Join(problems...))
	}
	return nil
}
