package scenarios

import (
	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness/watch"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// hazardScenarios are drills of an operator's mistake, each a composition:
// a fault, the mistake (a recovery done wrong, or a second fault), an
// observer that looks for the named hazard, records it in the report
// (Hazards) and fails the drill when it does not show, and an ordinary way
// back.
func hazardScenarios() []Scenario {
	return []Scenario{
		{
			Name: "hazard/restore-old-token",
			Description: "kill a majority, restore every member from a live snapshot into fresh data dirs but with the OLD token and the old names and URLs; " +
				"the restored cluster has the old cluster ID (hazard old-cluster-id: old members could rejoin it)",
			Fault:      faults.KillMajority{},
			Recovery:   recovery.RestoreOnOldURLs{OldToken: true},
			After:      []Act{{Observer: watch.OldClusterID{}}},
			Expect:     Expect{QuorumLost: true, ClusterID: IDSame},
			MinMembers: 1,
		},
		{
			Name: "hazard/old-member-rejoins",
			Description: "kill a majority, restore a new cluster (new token) on the old members' URLs, then start an old member on its old data dir; " +
				"it must be rejected for a cluster ID mismatch (found in the logs) and the restored data stay untouched",
			Fault:      faults.KillMajority{},
			Recovery:   recovery.RestoreOnOldURLs{Fresh: recovery.FreshFirst},
			After:      []Act{{Fault: faults.OldMemberReturns{}, Observer: watch.ClusterIDMismatch{}}},
			Expect:     Expect{QuorumLost: true, ClusterID: IDNew},
			MinMembers: 2,
		},
		{
			Name: "hazard/force-new-cluster-while-alive",
			Description: "kill one follower, restart it with --force-new-cluster while the others still run; record panics, exits, " +
				"which side takes writes, whether each sees the other's, and the two raft logs; then recover the old majority and find every acknowledged write",
			Fault:      faults.KillFollower{},
			Then:       []Act{{Fault: faults.ForcedRestart{}, Observer: watch.SplitBrain{}}},
			Recovery:   recovery.RecoverOldMajority{},
			Expect:     Expect{ClusterID: IDSame},
			MinMembers: 3,
			Phased: "the forced member and the old majority both take writes under one cluster ID; the split-brain observer probes each side, " +
				"and the old majority's recovery drops the forced side: writers running through it would lose their writes there by design",
		},
	}
}
