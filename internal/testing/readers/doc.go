// Package readers tests the Python and Node readers of the token record
// that ship, as files to copy, in pkg/tokenrecord/readers (its README.md
// says what each guarantees). TestReaders runs every reader against moto;
// the package has no Go API of its own.
package readers
