// Command seed writes the sample repository (examples/shop) as a bare Git repository with
// env/dev, env/staging and env/prod branches, plus a stagegate.yaml pointing at it, into the
// directory given as its argument: a history with something to promote, for trying plan, render
// and run by hand. (make demo runs stagegate quickstart, which starts from examples.Fresh.)
package main

import (
	"fmt"
	"os"

	"github.com/stagegate-dev/stagegate/examples"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./hack/seed DIR")
		os.Exit(1)
	}
	s, err := examples.Seed(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	fmt.Printf("seeded %s (branches env/dev, env/staging, env/prod)\nconfig %s\n", s.URL, s.Config)
}
