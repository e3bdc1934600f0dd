// Package layout checks what the README says about the repository itself:
// its packages import one way (TestImportsFlowOneWay). The package has no
// code of its own, only tests.
package layout
