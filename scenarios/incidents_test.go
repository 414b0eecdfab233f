package scenarios

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// TestRegressionScenarioFailsWithoutTheBug: the regression scenario of the
// publish spin fails, naming the incident, when its recovery cannot spin (a
// restore from a snapshot joins no member): it cannot pass by default.
func TestRegressionScenarioFailsWithoutTheBug(t *testing.T) {
	sc := lookupScenario(t, "etcd-bug/rejoin-publish-spin")
	sc.Recovery = recovery.SnapshotRestore{}
	sc.Backup = BackupLive
	sc.Expect.ClusterID = IDNew
	sc.MinKeys = 0
	rep, err := runFailPath(t, sc, smallOptions(t))
	failPathVerify(t, rep, err, harness.IncidentPublishSpin+": the scenario is about this etcd bug, and the drill did not see it")
	if len(rep.Incidents) != 0 {
		t.Fatalf("incidents %+v, want none", rep.Incidents)
	}
}

// floodingRestore restores as usual, then appends a flood of one message to
// the first restored member's log, as a member stuck in a loop writes it.
type floodingRestore struct{ recovery.SnapshotRestore }

func (r floodingRestore) Recover(ctx context.Context, env recovery.Env) (recovery.Outcome, error) {
	out, err := r.SnapshotRestore.Recover(ctx, env)
	if err != nil {
		return out, err
	}
	f, err := os.OpenFile(out.Cluster.Members()[0].LogPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return out, err
	}
	defer f.Close()
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, `{"level":"warn","ts":"2026-12-03T08:00:%02d.%06dZ","msg":"stuck in a loop","i":%d}`+"\n", i/1000, i%1000, i)
	}
	_, err = f.WriteString(b.String())
	return out, err
}

// TestLogFloodFails: a member log flooded with one message fails the drill
// with a log-flood incident, and keeps the run directory as evidence.
func TestLogFloodFails(t *testing.T) {
	sc := lookupScenario(t, "quorum-loss/snapshot-restore")
	sc.Recovery = floodingRestore{}
	o := smallOptions(t)
	rep, err := Run(context.Background(), sc, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Passed || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], "log-flood: member r1 flooded its log") {
		t.Fatalf("failures %q, want only r1's log-flood", rep.Failures)
	}
	if len(rep.Incidents) != 1 || rep.Incidents[0].Name != IncidentLogFlood || rep.Incidents[0].Message != "stuck in a loop" ||
		!strings.HasPrefix(rep.Incidents[0].Replay, "etcd-drill run quorum-loss/snapshot-restore --backend embedded") {
		t.Fatalf("incidents %+v", rep.Incidents)
	}
	if !rep.Kept {
		t.Fatal("a flooded log is evidence: the run dir must be kept")
	}
	if _, err := os.Stat(rep.Incidents[0].Log); err != nil {
		t.Fatalf("the flooded log is not kept: %v", err)
	}
	os.RemoveAll(rep.RunDir)
}
