// Command genpolicy writes a synthetic policy repository for benchmarks:
//
//	go run ./bench/genpolicy -out DIR [-agents 10000 -roles 2000 -connections 500 -maskings 200]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mandatehq/mandate/compiler/gen"
)

func main() {
	out := flag.String("out", "", "directory to write (required)")
	s := gen.Size{}
	flag.IntVar(&s.Agents, "agents", 10000, "number of agents")
	flag.IntVar(&s.Roles, "roles", 2000, "number of roles")
	flag.IntVar(&s.Connections, "connections", 500, "number of connections")
	flag.IntVar(&s.Maskings, "maskings", 200, "number of masking blocks")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "genpolicy: -out is required")
		os.Exit(2)
	}
	if err := gen.GenerateSize(*out, s); err != nil {
		fmt.Fprintln(os.Stderr, "genpolicy:", err)
		os.Exit(1)
	}
}
