// Command fuseserver is the test FUSE server; see package fusecli.
package main

import (
	"os"

	"dioharness/harness/fuse/fusecli"
)

func main() {
	os.Exit(fusecli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
