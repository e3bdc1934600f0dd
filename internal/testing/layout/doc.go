// Package layout checks what the README and docs/ say about the repository
// itself: its packages import one way (TestImportsFlowOneWay), their links
// and docs/ references resolve, and the tests they cite exist. The package
// has no code of its own, only tests.
package layout
