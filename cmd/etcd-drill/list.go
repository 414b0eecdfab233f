package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/etcd-drill/etcd-drill/scenarios"
)

func cmdList(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return badInput("list takes no arguments, got %q", args[0])
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, s := range scenarios.Catalogue() {
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
	}
	return tw.Flush()
}
