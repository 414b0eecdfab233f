package main

import (
	"context"
	"fmt"
	"io"

	"github.com/etcd-drill/etcd-drill/harness/backend/container"
)

// cmdCleanup removes the containers, networks and volumes that runs killed
// outright left behind (an interrupted run removes its own).
func cmdCleanup(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return badInput("cleanup takes no arguments, got %q", args[0])
	}
	if err := container.Available(ctx); err != nil {
		fmt.Fprintf(stdout, "nothing to clean up: %v\n", err)
		return nil
	}
	r, err := container.Cleanup(ctx, "")
	fmt.Fprintf(stdout, "removed %d containers, %d networks, %d volumes left by etcd-drill\n", r.Containers, r.Networks, r.Volumes)
	if r.InUse > 0 {
		fmt.Fprintf(stdout, "left %d in use by etcd-drill runs still going\n", r.InUse)
	}
	return err
}
