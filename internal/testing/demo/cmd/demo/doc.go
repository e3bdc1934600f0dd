// Command demo runs the whole system locally: `make demo` calls it from the
// module root. It needs moto_server on the PATH (pip install "moto[server]")
// and nothing else: no AWS account, no Docker. Ctrl-C stops it and every
// process it started.
package main
