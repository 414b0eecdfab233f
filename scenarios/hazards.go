package scenarios

import (
	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// hazardScenarios are drills of an operator's mistake: each recovery looks
// for a named hazard, records it in the report (Hazards), and fails the drill
// when the hazard it is about does not show.
func hazardScenarios() []Scenario {
	return []Scenario{
		{
			Name: "hazard/restore-old-token",
			Description: "kill a majority, restore every member from a live snapshot into fresh data dirs but with the OLD token and the old names and URLs; " +
				"the restored cluster has the old cluster ID (hazard old-cluster-id: old members could rejoin it)",
			Fault:      faults.KillMajority{},
			Recovery:   recovery.RestoreOldToken{},
			Expect:     Expect{QuorumLost: true, ClusterID: IDSame},
			MinMembers: 1,
		},
		{
			Name: "hazard/old-member-rejoins",
			Description: "kill a majority, restore a new cluster (new token) on the old members' URLs, then start an old member on its old data dir; " +
				"it must be rejected for a cluster ID mismatch (found in the logs) and the restored data stay untouched",
			Fault:      faults.KillMajority{},
			Recovery:   recovery.OldMemberRejoins{},
			Expect:     Expect{QuorumLost: true, ClusterID: IDNew},
			MinMembers: 2,
		},
		{
			Name: "hazard/force-new-cluster-while-alive",
			Description: "kill one follower, restart it with --force-new-cluster while the others still run; record panics, exits, " +
				"which side takes writes, whether each sees the other's, and the two raft logs; then recover the old majority and find every acknowledged write",
			Fault:      faults.KillFollower{},
			Recovery:   recovery.ForceNewWhileAlive{},
			Expect:     Expect{ClusterID: IDSame},
			MinMembers: 3,
		},
	}
}
