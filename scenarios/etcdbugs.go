package scenarios

import (
	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// rejoinAttempts bounds the joins of the regression scenario: at about one
// spin in two joins, eight miss it once in 250 drills.
const rejoinAttempts = 8

// etcdBugScenarios are regressions of etcd's own bugs: each makes the bug
// happen on purpose and passes when the drill sees it and reports it with
// its evidence (report incidents). They pass on a fixed etcd only if the
// expectation is changed: that is the point.
func etcdBugScenarios() []Scenario {
	return []Scenario{
		{
			Name: "etcd-bug/rejoin-publish-spin",
			Description: "etcd 3.7.3's publish spin: kill a majority, force a new cluster from the survivor, grow it back and add the last member " +
				"again until its join spins (a snapshot folding in its own publish leaves its applied index at 0: \"too many requests\" forever); " +
				"passes when the spin is seen with its evidence, repaired by one write, and every check of force-new-cluster holds",
			Fault:      faults.KillMajority{},
			Recovery:   recovery.RejoinPublishSpin{Attempts: rejoinAttempts},
			Expect:     Expect{QuorumLost: true, ClusterID: IDSame, Incident: harness.IncidentPublishSpin},
			MinMembers: 3,
			// The committed index must be 5,000 above the joiner's applied
			// index (0) for etcd to refuse its publish.
			MinKeys: 6000,
			Phased: "it makes a race in a member's join happen: writes sent to the forced survivor's address during the joins change " +
				"the raft log and snapshots the race needs (with them, a CI run did not hit it in its 8 tries on the process backend)",
		},
	}
}
