// Package recovery holds the procedures that bring a cluster back, one per
// file. A recovery knows nothing of the fault that came before it: it reads
// the drill's state (the snapshot, the old cluster) and returns a healthy
// cluster.
package recovery

import (
	"context"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// Recovery is one procedure of the recovery guide.
type Recovery interface {
	Name() string
	// NeedsSnapshot says whether the drill must take a snapshot first.
	NeedsSnapshot() bool
	// Recover returns a healthy cluster made from what the drill holds.
	Recover(ctx context.Context, d *harness.Drill) (*harness.Cluster, error)
}

// Backuper is a recovery that takes its own backup before the fault (an
// operator's runbook); the drill takes a snapshot itself for the others.
type Backuper interface {
	Backup(ctx context.Context, d *harness.Drill, from backend.Member) (harness.Snapshot, error)
}

// RunbookMayReplace says whether an operator's runbook may stand in for r:
// only for a plain restore from a snapshot. Where the recovery itself is the
// assertion (a damaged backup refused, a hazard looked for, a copied db
// refused without --skip-hash-check), a runbook would drop it.
func RunbookMayReplace(r Recovery) bool {
	_, ok := r.(SnapshotRestore)
	return ok
}
