// Package recovery holds the procedures that bring a cluster back, one per
// file. A recovery knows nothing of the fault that came before it: it reads
// its environment (the old cluster as the fault left it, the backup) and
// says what it did in an Outcome; it writes neither the report nor the
// drill's state. The scenario runner alone turns outcomes into the report.
package recovery

import (
	"context"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// Recovery is one procedure of the recovery guide.
type Recovery interface {
	Name() string
	// NeedsSnapshot says whether the drill must take a snapshot first.
	NeedsSnapshot() bool
	// Recover brings a cluster back from what env holds.
	Recover(ctx context.Context, env Env) (Outcome, error)
}

// Env is what a recovery works from. Drill gives it the run directory,
// ports, logs and the means to start clusters (which the drill closes at
// its end); Old is the cluster under test as the fault left it; Snapshot is
// the backup taken before the fault (zero when the scenario takes none);
// Size is how many members the recovered cluster must have.
type Env struct {
	Drill    *harness.Drill
	Old      *harness.Cluster
	Snapshot harness.Snapshot
	Size     int
	// Before is each member's state measured just before the fault: the
	// floor of what a member may come back with.
	Before map[string]harness.MemberState
}

// Outcome is what a recovery did.
type Outcome struct {
	// Cluster is the recovered cluster; nil when the recovery Refused its
	// backup.
	Cluster *harness.Cluster
	// Baseline is the revision up to which the ledger must be found in the
	// recovered cluster; zero means the snapshot's.
	Baseline Baseline
	// Refused is why the recovery refused its backup, as a scenario about a
	// damaged backup expects.
	Refused error
	// HashChecked: the restore verified the snapshot's integrity hash.
	HashChecked bool
	// Notes are what the recovery observed along the way.
	Notes []string
	// Hazards are dangerous outcomes it went looking for and found.
	Hazards []harness.Hazard
	// HealSeconds: after a partition, from the heal to the first write taken.
	HealSeconds float64
}

// Baseline is a revision and why the recovered keyspace is held to it.
type Baseline struct {
	Revision int64
	Why      string
	// SentBefore, when set, is when the restored backup was taken: a write
	// in doubt sent after it cannot be in it, so it excuses nothing.
	SentBefore time.Time
	// Open: the recovered cluster keeps the old one's writes up to
	// Revision, and some above it, unknown which: writes acknowledged above
	// Revision were in flight when the old cluster died (a survivor forced
	// into a new cluster keeps whatever of them its log held).
	Open bool
}

// EveryWrite is the baseline of a recovery that may lose no acknowledged
// write (member replace, heal).
var EveryWrite = Baseline{Revision: harness.AllWrites, Why: "every acknowledged write"}

// Backuper is a recovery that takes its own backup before the fault (an
// operator's runbook); the drill takes a snapshot itself for the others.
type Backuper interface {
	Backup(ctx context.Context, env Env, from backend.Member) (harness.Snapshot, error)
}

// Needer is a recovery that needs more of the backend than any recovery
// does (a member started again on its data dir, say); a scenario needs what
// its faults and its recovery need.
type Needer interface {
	Needs() backend.Caps
}

// RunbookReplaceable is a recovery that an operator's runbook may stand in
// for: a plain restore from a snapshot. Where the recovery itself is the
// assertion (a damaged backup refused, a hazard looked for, a copied db
// refused without --skip-hash-check, a revision bump), a runbook would drop
// it, and the recovery does not implement this or says false.
type RunbookReplaceable interface {
	RunbookMayReplace() bool
}

// RunbookMayReplace says whether an operator's runbook may stand in for r.
func RunbookMayReplace(r Recovery) bool {
	rr, ok := r.(RunbookReplaceable)
	return ok && rr.RunbookMayReplace()
}

// dead are the members of the old cluster that are down: the ones an
// operator finds not answering.
func (env Env) dead() []backend.Member {
	if env.Old == nil {
		return nil
	}
	var out []backend.Member
	for _, m := range env.Old.Members() {
		select {
		case <-m.Exited():
			out = append(out, m)
		default:
		}
	}
	return out
}
