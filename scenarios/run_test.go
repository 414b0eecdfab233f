package scenarios

import (
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

func smallOptions(t *testing.T) Options {
	o := DefaultOptions()
	o.Keys = 300
	o.BaseDir = t.TempDir()
	return o
}

func TestRunLeavesNothingBehind(t *testing.T) {
	sc, err := Lookup("quorum-loss/snapshot-restore")
	if err != nil {
		t.Fatal(err)
	}
	o := smallOptions(t)
	base := leakcheck.Take()
	rep, err := Run(context.Background(), sc, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !rep.Passed {
		t.Fatalf("drill failed: %v", rep.Failures)
	}
	start := time.Now()
	if err := base.Goroutines(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("goroutines drained %v after the run", time.Since(start))
	if len(rep.URLs) != 12 {
		t.Fatalf("report lists %d URLs, want 12 (client and peer of 3 old and 3 restored members)", len(rep.URLs))
	}
	if err := leakcheck.Ports(rep.URLs); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(o.BaseDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("run left %d entries in its base dir, first %s", len(entries), entries[0].Name())
	}
}

// damage is a fault that strikes after the recovery: it damages the
// restored keyspace the way a broken procedure might.
type damage struct {
	faults.KillMajority // Needs, and a name nobody reads
	harm                func(ctx context.Context, cli *clientv3.Client, ops []workload.Op, rev int64) error
}

func (damage) Name() string { return "damage" }

func (d damage) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	e, cli, err := strikeRecovered(env, d.Name())
	if err != nil {
		return e, err
	}
	return e, d.harm(ctx, cli, env.Ledger.Ops(), env.Snapshot.Revision)
}

func (damage) Confirm(_ context.Context, _ faults.Env, e harness.Effect) (harness.Effect, error) {
	return e, nil
}

// lastOfEpoch finds a key whose last write was acknowledged by the cluster
// of epoch e (the one it was sent to) and is one ok says.
func lastOfEpoch(ops []workload.Op, e workload.Epoch, ok func(workload.Op) bool) string {
	last := map[string]workload.Op{}
	for _, op := range ops {
		if prev, seen := last[op.Key]; !seen || op.Seq > prev.Seq {
			last[op.Key] = op
		}
	}
	for _, k := range slices.Sorted(maps.Keys(last)) {
		if op := last[k]; op.Epoch == e && op.Outcome == workload.Acknowledged && op.Lease == 0 && ok(op) {
			return k
		}
	}
	return ""
}

// deleting is a harm that deletes the key pick finds in the ledger, or
// fails saying none.
func deleting(none string, pick func(ops []workload.Op, rev int64) string) func(context.Context, *clientv3.Client, []workload.Op, int64) error {
	return func(ctx context.Context, cli *clientv3.Client, ops []workload.Op, rev int64) error {
		k := pick(ops, rev)
		if k == "" {
			return errors.New(none)
		}
		_, err := cli.Delete(ctx, k)
		return err
	}
}

func exactlyOneLost(t *testing.T, rep *report.Report) {
	t.Helper()
	if rep.Keys.Lost != 1 || rep.Keys.Resurrected != 0 {
		t.Fatalf("keys %+v, want exactly 1 lost", rep.Keys)
	}
}

func TestRunFailsWhenTheRecoveryLosesData(t *testing.T) {
	cases := []struct {
		name  string
		check func(t *testing.T, rep *report.Report)
		harm  func(ctx context.Context, cli *clientv3.Client, ops []workload.Op, rev int64) error
	}{
		{
			name: "an acknowledged key deleted after the restore",
			harm: deleting("no key whose every write was a single put or delete acknowledged at or below the backup's revision", func(ops []workload.Op, rev int64) string {
				// Not a key a write in doubt touched: a transaction in doubt
				// that was applied would be partial too.
				if keys := solidKeys(ops, rev); len(keys) > 0 {
					return keys[0]
				}
				return ""
			}),
			check: exactlyOneLost,
		},
		{
			name: "a write the recovered cluster acknowledged, deleted",
			harm: deleting("no key whose last write is a single put the recovered cluster acknowledged", func(ops []workload.Op, _ int64) string {
				return lastOfEpoch(ops, workload.Recovered, func(op workload.Op) bool { return op.Kind == workload.Put && op.Txn == 0 })
			}),
			check: exactlyOneLost,
		},
		{
			name: "a write the old cluster acknowledged after the backup, put into the recovered cluster",
			harm: func(ctx context.Context, cli *clientv3.Client, ops []workload.Op, rev int64) error {
				// A key the old cluster created after the backup, and no
				// one wrote again: the recovered cluster must not hold it.
				writes := map[string]int{}
				for _, op := range ops {
					writes[op.Key]++
				}
				for _, op := range ops {
					if op.Epoch == workload.Old && op.Outcome == workload.Acknowledged && op.Revision > rev && op.Kind == workload.Put && op.Txn == 0 && writes[op.Key] == 1 {
						_, err := cli.Put(ctx, op.Key, op.Value)
						return err
					}
				}
				return errors.New("no key the old cluster created after the backup")
			},
			check: func(t *testing.T, rep *report.Report) {
				if rep.Keys.Resurrected != 1 || rep.Keys.Lost != 0 || rep.Findings[0].Kind != "resurrected" || !strings.Contains(rep.Findings[0].Got, "written after revision") {
					t.Fatalf("keys %+v, findings %+v: want exactly 1 resurrected, written after the backup", rep.Keys, rep.Findings)
				}
			},
		},
		{
			name: "a key the workload never wrote",
			harm: func(ctx context.Context, cli *clientv3.Client, ops []workload.Op, rev int64) error {
				_, err := cli.Put(ctx, workload.DefaultPrefix+"intruder", "x")
				return err
			},
			check: func(t *testing.T, rep *report.Report) {
				if rep.Keys.Resurrected != 1 || rep.Keys.Lost != 0 {
					t.Fatalf("keys %+v, want exactly 1 resurrected", rep.Keys)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Lookup("quorum-loss/snapshot-restore")
			if err != nil {
				t.Fatal(err)
			}
			sc.After = append(sc.After, Act{Fault: damage{harm: tc.harm}})
			rep, err := Run(context.Background(), sc, smallOptions(t))
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if rep.Passed {
				t.Fatal("the drill passed although the recovery damaged the keyspace")
			}
			if len(rep.Findings) != 1 {
				t.Fatalf("findings %+v, want one", rep.Findings)
			}
			tc.check(t, rep)
		})
	}
}

// killLeader kills the leader alone: the other two of three keep quorum and
// elect a new leader, which the confirmation must notice.
type killLeader struct{ faults.KillMajority }

func (killLeader) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	m, err := env.Cluster.Leader(ctx)
	if err != nil {
		return harness.Effect{}, err
	}
	return harness.Effect{Fault: "kill-leader", Members: []string{m.Name()}, At: time.Now()}, m.Kill()
}

func TestRunFailsWhenTheFaultKeepsQuorum(t *testing.T) {
	sc, err := Lookup("quorum-loss/snapshot-restore")
	if err != nil {
		t.Fatal(err)
	}
	sc.Fault = killLeader{}
	rep, err := Run(context.Background(), sc, smallOptions(t))
	if err == nil {
		t.Fatal("run succeeded although the fault did not break quorum")
	}
	if rep == nil || rep.Passed {
		t.Fatal("report says passed")
	}
	if !strings.Contains(err.Error(), "quorum not lost") {
		t.Fatalf("error %q does not say quorum was not lost", err)
	}
	last := rep.Steps[len(rep.Steps)-1]
	if last.Name != "cleanup" || last.Error != "" {
		t.Fatalf("last step %+v, want a clean cleanup", last)
	}
}

func TestRunRefusesBadInputBeforeCreatingAnything(t *testing.T) {
	sc, err := Lookup("quorum-loss/snapshot-restore")
	if err != nil {
		t.Fatal(err)
	}
	for _, mod := range []func(*Options){
		func(o *Options) { o.Members = 0 },
		func(o *Options) { o.Members = 10 },
		func(o *Options) { o.Keys = -1 },
		func(o *Options) { o.Backend = "nope" },
		func(o *Options) { o.Workload.Concurrency = 0 },
		func(o *Options) { o.Timing.Election = o.Timing.Heartbeat },
	} {
		o := smallOptions(t)
		mod(&o)
		rep, err := Run(context.Background(), sc, o)
		if !errors.Is(err, ErrBadInput) || rep != nil {
			t.Fatalf("options %+v: got report %v, error %v; want ErrBadInput", o, rep, err)
		}
		if entries, _ := os.ReadDir(o.BaseDir); len(entries) != 0 {
			t.Fatalf("bad input left %s behind", entries[0].Name())
		}
	}
}
