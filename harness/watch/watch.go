// Package watch holds the observers of a drill: read-only parts that watch
// what a fault does while it acts (which members exit or panic, whether
// each side takes writes, what the logs and raft logs say) and name the
// hazard they find. A scenario composes one with a fault and a recovery; an
// observer changes nothing but through the end function it is handed, which
// ends the fault when it has seen enough.
package watch

import (
	"context"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// Observer watches a fault's effect and says what it saw. It calls end once
// it has seen enough (end ends what the fault started, so that its data dir
// can be read), and returns an error when what it looks for did not show:
// a hazard drill whose hazard is missing has failed.
type Observer interface {
	Name() string
	Observe(ctx context.Context, v View, e harness.Effect, end func(context.Context) error) (Observation, error)
}

// View is what an observer may look at.
type View struct {
	Drill *harness.Drill
	// Cluster is the cluster under test; Recovered the one the recovery
	// brought back (nil before the recovery).
	Cluster   *harness.Cluster
	Recovered *harness.Cluster
	// Ledger is the workload's.
	Ledger *workload.Ledger
	// LogOffsets are the sizes of the member logs before the fault acted,
	// by path: what a member wrote since starts there.
	LogOffsets map[string]int64
}

// Offset is where what the log at path got since the fault starts.
func (v View) Offset(path string) int64 { return v.LogOffsets[path] }

// Observation is what an observer saw.
type Observation struct {
	Hazard *harness.Hazard
	Notes  []string
}

// Hazards the observers look for, by the name a report lists them under.
const (
	// HazardOldClusterID: a restore with the old token on the old peer URLs
	// made the old logical cluster again.
	HazardOldClusterID = "old-cluster-id"
	// HazardOldMemberMismatch: an old member started against the restored
	// cluster, which rejected it for a cluster ID mismatch.
	HazardOldMemberMismatch = "old-member-cluster-id-mismatch"
	// HazardForceNewWhileAlive: --force-new-cluster on one member while the
	// others of its cluster still ran.
	HazardForceNewWhileAlive = "force-new-cluster-while-alive"
)
