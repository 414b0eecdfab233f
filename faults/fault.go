// Package faults holds what a drill does to a cluster, one fault per file.
// A fault knows nothing of recovery: it acts on the cluster under test (or
// its files: data dirs, the snapshot), then proves it took effect. It says
// what it did in its Effect; the scenario runner records it.
package faults

import (
	"context"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// Fault is one way to break a cluster.
type Fault interface {
	Name() string
	// Needs is what the backend must be able to do for this fault.
	Needs() backend.Caps
	// Inject does the damage and says what it did and to whom.
	Inject(ctx context.Context, env Env) (harness.Effect, error)
	// Confirm proves the fault is in force (quorum lost, say) and returns
	// the effect with what it found.
	Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error)
}

// Ender is a fault that ends what it started (a restarted member), once what
// watches it has seen enough.
type Ender interface {
	End(ctx context.Context, env Env, e harness.Effect) error
}

// Env is what a fault acts on: the drill's run directory, ports and
// backend; the cluster under test, and the recovered one for a fault that
// strikes after the recovery (nil before); the backup taken before it (zero
// when the scenario takes none); the workload's ledger, for a fault that
// damages what was written.
type Env struct {
	Drill     *harness.Drill
	Cluster   *harness.Cluster
	Recovered *harness.Cluster
	Snapshot  harness.Snapshot
	Ledger    *workload.Ledger
	// Checkpoint, if set, is the runner's check of the cluster against the
	// ledger, for a fault that changes the cluster in stages (an upgrade,
	// member by member): the runner has the stage's writes acknowledged,
	// checks every acknowledged write, and records it. An error stops the
	// fault.
	Checkpoint func(ctx context.Context, s Stage) error
}

// Stage is a point within a fault at which the cluster must hold every
// acknowledged write.
type Stage struct {
	// Name says where ("m2 on 3.7.3", "after hop 1: every member on
	// 3.6.17").
	Name string
	// Writes is how many more writes to have acknowledged before the
	// check (0: none).
	Writes int
}

// checkpoint calls env.Checkpoint if it is set.
func (env Env) checkpoint(ctx context.Context, s Stage) error {
	if env.Checkpoint == nil {
		return nil
	}
	return env.Checkpoint(ctx, s)
}
