// Package scenarios is the catalogue of drills: each scenario is a named
// choice of fault, recovery and expectations. Run executes one.
package scenarios

import (
	"fmt"
	"sort"
	"strings"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness/watch"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// Backup is how a scenario backs up before its recovery.
type Backup int

const (
	// BackupAuto: a live snapshot if the recovery needs one, else none.
	BackupAuto Backup = iota
	// BackupNone: no backup (force-new-cluster, member replace).
	BackupNone
	// BackupLive: etcdctl snapshot save from a live member, before the fault.
	BackupLive
	// BackupCopiedDB: member/snap/db copied from a dead member's data dir,
	// after the fault; it has no integrity hash.
	BackupCopiedDB
)

// ClusterIDExpect says whether the recovered cluster keeps the old ID.
type ClusterIDExpect int

const (
	IDAny ClusterIDExpect = iota
	// IDNew: a new logical cluster (restore with a new token).
	IDNew
	// IDSame: the same cluster (force-new-cluster, member replace).
	IDSame
)

// Expect is what must hold after the recovery, beyond "no acknowledged key
// lost, none resurrected" at the revision the recovery names.
type Expect struct {
	// QuorumLost: the fault must have broken quorum.
	QuorumLost bool
	// ClusterID: new, the same, or either.
	ClusterID ClusterIDExpect
	// RevisionAbove: the recovered cluster's revision must be above every
	// revision the old cluster served, and a watch from an old revision
	// must be cancelled as compacted (a restore with a revision bump).
	RevisionAbove bool
	// PanicContains: every member the fault hit (Effect.Members) must have
	// panicked with a message containing this.
	PanicContains string
	// Incident: the drill must see this etcd bug (report incidents), as a
	// regression scenario of it expects.
	Incident string
}

// Act is a further fault of a scenario and what watches it. It strikes after
// the first fault was confirmed (Scenario.Then) or after the recovery
// (Scenario.After). Either part may be nil: a fault nobody watches, or a
// look with no fault.
type Act struct {
	Fault    faults.Fault
	Observer watch.Observer
}

// Scenario is one drill of the catalogue: a fault, what follows it, a
// recovery, what follows that, and what must hold.
type Scenario struct {
	Name        string
	Description string
	Fault       faults.Fault
	Then        []Act
	Recovery    recovery.Recovery
	After       []Act
	Backup      Backup
	Expect      Expect
	// MinMembers is the smallest cluster the scenario makes sense on.
	MinMembers int
	// MinKeys is the fewest writes before the snapshot it makes sense with.
	MinKeys int
	// Upgrade is how the scenario moves the cluster across versions in
	// place (empty: it does not): along Options' path (--from, --to,
	// --path), which it needs.
	Upgrade Upgrade
	// Phased, if set, says why the scenario writes in phases whatever
	// --traffic says (a fault that splits a cluster in two under one ID, a
	// race that writes during the recovery would keep from happening).
	Phased string
}

// Upgrade is how a scenario moves its cluster across versions.
type Upgrade string

const (
	// UpgradeRolling: from one line to the next newer, member by member.
	UpgradeRolling Upgrade = "rolling"
	// UpgradeHops: from the oldest line to the newest, one line at a time.
	UpgradeHops Upgrade = "hops"
	// UpgradeDown: one line down by etcd's downgrade procedure, and back.
	UpgradeDown Upgrade = "downgrade"
)

// backup resolves BackupAuto.
func (sc Scenario) backup() Backup {
	if sc.Backup != BackupAuto {
		return sc.Backup
	}
	if sc.Recovery.NeedsSnapshot() {
		return BackupLive
	}
	return BackupNone
}

// BumpRevision is how far the bump-revision scenario raises the revision: far
// above the writes that came after the snapshot, as etcd's guide advises.
const BumpRevision = 1_000_000

// Catalogue returns every scenario, sorted by name.
func Catalogue() []Scenario {
	all := []Scenario{
		{
			Name:        "quorum-loss/snapshot-restore",
			Description: "kill a majority, restore every member of a new cluster from a live snapshot, verify the ledger",
			Fault:       faults.KillMajority{},
			Recovery:    recovery.SnapshotRestore{},
			Expect:      Expect{QuorumLost: true, ClusterID: IDNew},
			MinMembers:  1,
		},
		{
			Name: "wrong-peer-urls/snapshot-restore",
			Description: "MemberUpdate with a peer URL lacking its scheme (raw gRPC): every other member panics (failed NewURLs) " +
				"and panics again on restart; restore a new cluster from a snapshot taken before",
			Fault:      faults.SchemelessPeerURL{},
			Recovery:   recovery.SnapshotRestore{},
			Expect:     Expect{QuorumLost: true, ClusterID: IDNew, PanicContains: faults.PanicNewURLs},
			MinMembers: 2,
		},
		{
			Name: "wrong-peer-urls-unreachable/snapshot-restore",
			Description: "MemberUpdate a majority to well-formed peer URLs where nothing listens, record whether quorum holds, " +
				"restore a new cluster from a snapshot taken before",
			Fault:      faults.UnreachablePeerURLs{},
			Recovery:   recovery.SnapshotRestore{},
			Expect:     Expect{ClusterID: IDNew},
			MinMembers: 1,
		},
		{
			Name:        "copied-db/skip-hash-check",
			Description: "kill a majority, copy member/snap/db out of a dead member's data dir; restore must refuse it without --skip-hash-check and succeed with it",
			Fault:       faults.KillMajority{},
			Recovery:    recovery.CopiedDBRestore{},
			Backup:      BackupCopiedDB,
			Expect:      Expect{QuorumLost: true, ClusterID: IDNew},
			MinMembers:  1,
		},
		{
			Name:        "corrupt-snapshot/rejected",
			Description: "flip bytes of a saved snapshot; the restore must fail on the integrity hash and leave no data dir behind",
			Fault:       faults.CorruptSnapshot{},
			Recovery:    recovery.RefuseDamaged{},
			Backup:      BackupLive,
			MinMembers:  1,
		},
		{
			Name: "quorum-loss/force-new-cluster",
			Description: "kill a majority, restart the most up-to-date survivor with --force-new-cluster, add the others back " +
				"one at a time with empty data dirs; the cluster keeps what the survivor had",
			Fault:      faults.KillMajority{},
			Recovery:   recovery.ForceNewCluster{},
			Expect:     Expect{QuorumLost: true, ClusterID: IDSame},
			MinMembers: 3,
		},
		{
			Name:        "disk-loss/snapshot-restore",
			Description: "a majority's members die and their data dirs are destroyed; restore a new cluster from a live snapshot",
			Fault:       faults.LoseDisks{},
			Recovery:    recovery.SnapshotRestore{},
			Expect:      Expect{QuorumLost: true, ClusterID: IDNew},
			MinMembers:  1,
		},
		{
			Name:        "minority-loss/member-replace",
			Description: "one member lost for good (data dir destroyed); remove it, add a new one with an empty data dir; no acknowledged write may be lost",
			Fault:       faults.LoseMember{},
			Recovery:    recovery.MemberReplace{},
			Expect:      Expect{ClusterID: IDSame},
			MinMembers:  3,
		},
		{
			Name:        "quorum-loss/restore-seed-and-grow",
			Description: "kill a majority, restore ONE member from the snapshot as a one-member cluster, grow it with MemberAdd one member at a time",
			Fault:       faults.KillMajority{},
			Recovery:    recovery.RestoreSeedAndGrow{},
			Expect:      Expect{QuorumLost: true, ClusterID: IDNew},
			MinMembers:  1,
		},
		{
			Name: "quorum-loss/snapshot-restore-bump-revision",
			Description: "kill a majority, restore with --bump-revision and --mark-compacted; the new revision is above every old one " +
				"and a watch from an old revision is cancelled as compacted",
			Fault:      faults.KillMajority{},
			Recovery:   recovery.SnapshotRestore{RevisionBump: BumpRevision},
			Expect:     Expect{QuorumLost: true, ClusterID: IDNew, RevisionAbove: true},
			MinMembers: 1,
		},
		{
			Name: "partition/majority-isolated",
			Description: "black-hole the peer traffic of a majority (proxies in front of peer URLs), then heal; " +
				"no acknowledged write may be lost, no restore; reports the time to recover after the heal",
			Fault:      faults.PartitionMajority{},
			Recovery:   recovery.Heal{},
			Expect:     Expect{QuorumLost: true, ClusterID: IDSame},
			MinMembers: 2,
		},
	}
	all = append(all, Scenario{
		Name: "upgrade/rolling",
		Description: "upgrade a cluster of --etcd-version to --to in place under live traffic, one member at a time (stop, swap the binary, " +
			"start on the same data dir, wait healthy), the middle member killed (SIGKILL) instead of stopped; every member must run the new " +
			"version, the cluster version move only after the last, and no acknowledged write be lost (process backend)",
		Fault:      faults.RollingUpgrade{},
		Recovery:   recovery.Keep{},
		Expect:     Expect{ClusterID: IDSame},
		MinMembers: 1,
		Upgrade:    UpgradeRolling,
	}, Scenario{
		Name: "upgrade/hops",
		Description: "a cluster born on the oldest line of --path (or --from) upgraded hop by hop to the newest (3.5 -> 3.6 -> 3.7), each hop a roll of " +
			"every member stopped and started on the next version, with --hop-writes more writes acknowledged and every acknowledged write checked " +
			"after every member and every hop; each version runs its default flags but for the drill's raft timing (process backend)",
		Fault:      faults.RollingUpgrade{Graceful: true},
		Recovery:   recovery.Keep{},
		Expect:     Expect{ClusterID: IDSame},
		MinMembers: 1,
		Upgrade:    UpgradeHops,
	}, Scenario{
		Name: "downgrade/one-minor",
		Description: "take a cluster of --from one minor line down to --to by etcd's procedure (etcdctl downgrade validate, enable; the cluster " +
			"version drops; members swapped one at a time; etcd ends the downgrade), then back up, the middle member killed, under live traffic; " +
			"every acknowledged write checked after every member (process backend)",
		Fault:      faults.Downgrade{},
		Recovery:   recovery.Keep{},
		Expect:     Expect{ClusterID: IDSame},
		MinMembers: 1,
		Upgrade:    UpgradeDown,
	})
	all = append(all, hazardScenarios()...)
	all = append(all, etcdBugScenarios()...)
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// Lookup finds a scenario by name.
func Lookup(name string) (Scenario, error) {
	var names []string
	for _, s := range Catalogue() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(names, ", "))
}
