// Package faults holds what a drill does to a cluster, one fault per file.
// A fault knows nothing of recovery: it acts on the drill's cluster (or its
// files: data dirs, the snapshot), then proves it took effect.
package faults

import (
	"context"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// Fault is one way to break a cluster.
type Fault interface {
	Name() string
	// Needs is what the backend must be able to do for this fault.
	Needs() backend.Caps
	// Inject does the damage and says what it did and to whom.
	Inject(ctx context.Context, d *harness.Drill) (harness.Effect, error)
	// Confirm proves the fault is in force (quorum lost, say), filling in e.
	Confirm(ctx context.Context, d *harness.Drill, e *harness.Effect) error
}
