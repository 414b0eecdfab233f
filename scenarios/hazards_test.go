package scenarios

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/watch"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// hazardOptions are small options on backend; the process backend needs the
// etcd binaries.
func hazardOptions(t *testing.T, backend string) Options {
	t.Helper()
	if backend == "process" {
		if _, err := bins.Find(""); err != nil {
			t.Fatalf("%v (make bins builds them)", err)
		}
	}
	o := smallOptions(t)
	o.Backend = backend
	return o
}

// hazardFound checks that the drill passed, verified the keyspace without a
// lost or resurrected key, and found the hazard name exactly once; it
// returns the hazard's detail.
func hazardFound(t *testing.T, rep *report.Report, err error, name string) string {
	t.Helper()
	if err != nil || !rep.Passed {
		t.Fatalf("drill failed: error %v, failures %q", err, rep.Failures)
	}
	if !rep.Verified || rep.Keys.Lost != 0 || rep.Keys.Resurrected != 0 || !rep.Cluster.HashKVConsistent {
		t.Fatalf("verified %v, keys %+v, cluster %+v: want the keyspace verified, nothing lost or resurrected, hashkv consistent",
			rep.Verified, rep.Keys, rep.Cluster)
	}
	var found []report.Hazard
	for _, h := range rep.Hazards {
		if h.Name == name {
			found = append(found, h)
		}
	}
	if len(found) != 1 || found[0].Detail == "" {
		t.Fatalf("hazards %+v, want one named %s with a detail", rep.Hazards, name)
	}
	return found[0].Detail
}

// hazardMissed checks that the drill failed at its observer because the
// hazard it looks for did not show, that none was recorded, and that the
// cleanup left nothing behind.
func hazardMissed(t *testing.T, rep *report.Report, err error, o Options, name string) {
	t.Helper()
	if rep.Passed || err == nil {
		t.Fatalf("the drill passed (error %v) although the hazard %s could not show", err, name)
	}
	want := "hazard " + name + " not found"
	if !strings.HasPrefix(err.Error(), "step observe: ") || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want step observe to fail with %q", err, want)
	}
	if len(rep.Failures) != 1 || rep.Failures[0] != err.Error() {
		t.Fatalf("failures %q, want only the observer's", rep.Failures)
	}
	if len(rep.Hazards) != 0 {
		t.Fatalf("hazards %+v recorded although none showed", rep.Hazards)
	}
	if rep.Verified {
		t.Fatal("the keyspace was verified after a failed observation")
	}
	leftNothing(t, rep, o.BaseDir)
}

func TestHazardScenariosInCatalogue(t *testing.T) {
	want := map[string]ClusterIDExpect{
		"hazard/restore-old-token":             IDSame,
		"hazard/old-member-rejoins":            IDNew,
		"hazard/force-new-cluster-while-alive": IDSame,
	}
	for name, id := range want {
		sc := lookupScenario(t, name)
		if sc.Expect.ClusterID != id || sc.Description == "" || sc.MinMembers < 1 {
			t.Errorf("%s: %+v, want cluster ID expectation %v, a description and a minimum size", name, sc, id)
		}
	}
}

func TestHazardForceNewClusterWhileAliveRefusedOnEmbedded(t *testing.T) {
	o := hazardOptions(t, "embedded")
	rep, err := Run(context.Background(), lookupScenario(t, "hazard/force-new-cluster-while-alive"), o)
	if rep != nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "members that can panic") {
		t.Fatalf("report %v, error %v: want bad input, members that can panic", rep != nil, err)
	}
	if entries, _ := os.ReadDir(o.BaseDir); len(entries) != 0 {
		t.Fatalf("a refused drill created %d entries", len(entries))
	}
}

func TestHazardRestoreOldToken(t *testing.T) {
	for _, be := range []string{"process", "embedded"} {
		t.Run(be, func(t *testing.T) {
			rep, err := runDrill(t, lookupScenario(t, "hazard/restore-old-token"), hazardOptions(t, be))
			detail := hazardFound(t, rep, err, watch.HazardOldClusterID)
			if rep.Cluster.IDChanged || rep.Cluster.OldID != rep.Cluster.NewID {
				t.Fatalf("cluster %+v: want the old cluster ID kept", rep.Cluster)
			}
			if !strings.Contains(detail, rep.Cluster.OldID) || !strings.Contains(detail, "3 of 3 members have their old member IDs") {
				t.Fatalf("hazard detail %q: want the old cluster ID %s and every old member ID", detail, rep.Cluster.OldID)
			}
			// The restored members re-use the old names.
			if !slices.Equal(rep.Cluster.Members, []string{"m1", "m2", "m3"}) {
				t.Fatalf("restored members %v, want the old names m1, m2, m3", rep.Cluster.Members)
			}
		})
	}
}

// With a new token the restore is a new logical cluster: the hazard the
// drill looks for is not there, and the drill must fail.
func TestHazardRestoreOldTokenFailsWithANewToken(t *testing.T) {
	sc := lookupScenario(t, "hazard/restore-old-token")
	sc.Recovery = recovery.RestoreOnOldURLs{}
	o := hazardOptions(t, "process")
	rep, err := runDrill(t, sc, o)
	hazardMissed(t, rep, err, o, watch.HazardOldClusterID)
	if !strings.Contains(err.Error(), `-restored"`) {
		t.Fatalf("error %q: want it to name the new token", err)
	}
}

func TestHazardOldMemberRejoins(t *testing.T) {
	for _, be := range []string{"process", "embedded"} {
		t.Run(be, func(t *testing.T) {
			rep, err := runDrill(t, lookupScenario(t, "hazard/old-member-rejoins"), hazardOptions(t, be))
			detail := hazardFound(t, rep, err, watch.HazardOldMemberMismatch)
			if !rep.Cluster.IDChanged {
				t.Fatalf("cluster %+v: want a new cluster ID", rep.Cluster)
			}
			// The restored members logged the mismatch, naming both cluster IDs.
			for _, s := range []string{`"request cluster ID mismatch"`, "its cluster " + rep.Cluster.NewID, "the request's " + rep.Cluster.OldID,
				"is not in the restored membership"} {
				if !strings.Contains(detail, s) {
					t.Fatalf("hazard detail %q: want %q", detail, s)
				}
			}
			// The old member (the first) is not in the recovered cluster,
			// whose data hazardFound checked: every key as of the snapshot,
			// no other.
			straggler := "m1"
			if slices.Contains(rep.Cluster.Members, straggler) || len(rep.Cluster.Members) != rep.Members {
				t.Fatalf("recovered members %v: want %d, without the old member %s", rep.Cluster.Members, rep.Members, straggler)
			}
			if !restoredAsExpected(rep.Keys) {
				t.Fatalf("keys %+v: want every expected key restored", rep.Keys)
			}
		})
	}
}

// Restored on new URLs, the old member reaches no restored member: no
// mismatch can show, and the drill must fail.
func TestHazardOldMemberRejoinsFailsOnFreshURLs(t *testing.T) {
	sc := lookupScenario(t, "hazard/old-member-rejoins")
	sc.Recovery = recovery.RestoreOnOldURLs{Fresh: recovery.FreshAll}
	sc.After = []Act{{Fault: faults.OldMemberReturns{}, Observer: watch.ClusterIDMismatch{Wait: 2 * time.Second}}}
	o := hazardOptions(t, "process")
	rep, err := runDrill(t, sc, o)
	hazardMissed(t, rep, err, o, watch.HazardOldMemberMismatch)
	if !strings.Contains(err.Error(), "on new URLs") {
		t.Fatalf("error %q: want it to say the restore was on new URLs", err)
	}
}

// On etcd 3.7.3 the outcome is a race between the old leader's heartbeat
// and the forced member's rejection of its old peers; both outcomes happen
// on three members:
//   - the forced member panics in raft at once (tocommit out of range: the
//     old leader's commit index is past the log --force-new-cluster cut),
//     and the old majority goes on;
//   - the old majority, which held quorum and every acknowledged write, shuts
//     itself down as "permanently removed" as soon as it reaches the forced
//     member, which goes on alone. Its membership entries were written in the
//     old term at indexes the old leader had used for other entries (the
//     confirm-fault probe at least), which the comparison of the raft logs
//     shows; when the old leader's later entries reached it, its keyspace
//     diverged from the acknowledged history.
//
// Either way the drill recovers the old majority (started again on its data
// dirs if it shut down) and finds every acknowledged write there.
func TestHazardForceNewClusterWhileAlive(t *testing.T) {
	o := hazardOptions(t, "process")
	rep, err := runDrill(t, lookupScenario(t, "hazard/force-new-cluster-while-alive"), o)
	detail := hazardFound(t, rep, err, watch.HazardForceNewWhileAlive)
	forced := rep.Fault.Members[0]
	if !strings.Contains(detail, forced+" restarted with --force-new-cluster") || rep.Cluster.IDChanged {
		t.Fatalf("hazard detail %q, cluster %+v: want %s restarted with --force-new-cluster, and the old cluster ID kept", detail, rep.Cluster, forced)
	}
	if slices.Contains(rep.Cluster.Members, forced) || !strings.HasPrefix(rep.RPO.Baseline, "every acknowledged write") || rep.RPO.AcknowledgedNotKept != 0 {
		t.Fatalf("members %v, RPO %+v: want the old majority recovered with every acknowledged write, %s replaced", rep.Cluster.Members, rep.RPO, forced)
	}
	contains := func(subs ...string) {
		t.Helper()
		for _, s := range subs {
			if !strings.Contains(detail, s) {
				t.Fatalf("hazard detail %q: want %q", detail, s)
			}
		}
	}
	if strings.Contains(detail, "PANICKED") {
		t.Log("outcome: the forced member panicked, the old majority went on")
		contains("PANICKED: "+forced, "is out of range [lastIndex(", "the old majority kept quorum")
		if len(rep.Panics) != 1 || rep.Panics[0].Member != forced || !strings.Contains(rep.Panics[0].Message, "tocommit(") {
			t.Fatalf("panics %+v, want the one of %s, tocommit out of range", rep.Panics, forced)
		}
		return
	}
	t.Log("outcome: the old majority shut down, the forced member went on alone")
	contains("no member panicked", "the old members shut down", "the member has been permanently removed from the cluster",
		forced+" went on alone under the same cluster ID", "RAFT LOG MATCHING BROKEN", "a membership change here, put /")
	if !strings.Contains(detail, "holds every acknowledged write") && !strings.Contains(detail, "DATA DIVERGED") {
		t.Fatalf("hazard detail %q: want what the forced member's keyspace holds", detail)
	}
	if len(rep.Panics) != 0 {
		t.Fatalf("panics %+v, want none when the old members shut down", rep.Panics)
	}
}

// Restarted without --force-new-cluster, the member rejoins its cluster and
// nothing goes wrong: the drill must fail for want of its hazard.
func TestHazardForceNewClusterWhileAliveFailsOnAPlainRestart(t *testing.T) {
	sc := lookupScenario(t, "hazard/force-new-cluster-while-alive")
	sc.Then = []Act{{Fault: faults.ForcedRestart{Plain: true}, Observer: watch.SplitBrain{Window: time.Second}}}
	o := hazardOptions(t, "process")
	rep, err := runDrill(t, sc, o)
	hazardMissed(t, rep, err, o, watch.HazardForceNewWhileAlive)
	for _, s := range []string{"without --force-new-cluster", "every member still running", "sees"} {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q: want %q", err, s)
		}
	}
	if len(rep.Panics) != 0 {
		t.Fatalf("panics %+v after a plain restart", rep.Panics)
	}
}
