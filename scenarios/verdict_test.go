package scenarios

// Sabotages of the verdict: backups that do not hold the data, and a
// recovered cluster that is not what it must be. Each must fail the drill
// with its named finding.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	clientsnap "go.etcd.io/etcd/client/v3/snapshot"
	"go.uber.org/zap"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/etcdtest"
	"github.com/etcd-drill/etcd-drill/harness/linearize"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// foreignBackup is a backup job pointed at the wrong etcd: it saves a
// snapshot of another server (holding junk keys of its own) instead of the
// cluster under test, then restores as usual.
type foreignBackup struct {
	recovery.SnapshotRestore
	endpoint string
	junk     int
}

func (f foreignBackup) Backup(ctx context.Context, env recovery.Env, _ backend.Member) (harness.Snapshot, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{f.endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		return harness.Snapshot{}, err
	}
	defer cli.Close()
	for i := range f.junk {
		if _, err := cli.Put(ctx, fmt.Sprintf("/other-app/%d", i), "x"); err != nil {
			return harness.Snapshot{}, err
		}
	}
	path := filepath.Join(env.Drill.RunDir, "snapshot.db")
	if _, err := clientsnap.SaveWithVersion(ctx, zap.NewNop(), clientv3.Config{Endpoints: []string{f.endpoint}}, path); err != nil {
		return harness.Snapshot{}, err
	}
	s, err := recovery.Describe(ctx, env.Drill, zap.NewNop(), path)
	s.Member = "another etcd"
	return s, err
}

// TestFailPathStaleBackup: a backup of an empty etcd is at revision 1, far
// below the writes acknowledged before it was asked for.
func TestFailPathStaleBackup(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		sc := lookupScenario(t, "quorum-loss/snapshot-restore")
		sc.Recovery = foreignBackup{endpoint: etcdtest.Single(t, nil)}
		rep, err := runFailPath(t, sc, o)
		failPathAt(t, rep, err, "snapshot", fmt.Sprintf("%s: the backup is at revision %d, below %d", FindingStaleBackup, rep.Snapshot.Revision, rep.Snapshot.Floor))
		// 300 writes, a few of them transactions of several puts: well
		// above 150 revisions.
		if rep.Snapshot.Floor < int64(o.Keys)/2 || rep.Snapshot.Revision > 1 {
			t.Fatalf("snapshot %+v: want an empty etcd's revision below a floor of the %d writes", rep.Snapshot, o.Keys)
		}
	})
}

// TestFailPathEmptyBackup: a backup of another etcd whose revision is above
// the floor restores, but holds none of the workload's keys.
func TestFailPathEmptyBackup(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		sc := lookupScenario(t, "quorum-loss/snapshot-restore")
		sc.Recovery = foreignBackup{endpoint: etcdtest.Single(t, nil), junk: 600}
		// Phased: with writers through the recovery, the recovered
		// cluster's answers contradict the ledger's state at the backup
		// too (not-linearizable, whose evidence keeps the run directory).
		rep, err := runFailPath(t, sc, phased(o))
		if err != nil {
			t.Fatalf("run: %v (want the drill to run to the end and fail its verification)", err)
		}
		if !slices.ContainsFunc(rep.Failures, func(f string) bool {
			return strings.HasPrefix(f, FindingEmptyBackup+": the recovered cluster holds none of the workload's keys")
		}) {
			t.Fatalf("failures %q, want %s", rep.Failures, FindingEmptyBackup)
		}
		if rep.Keys.Lost == 0 {
			t.Fatalf("keys %+v: want everything of the old cluster lost", rep.Keys)
		}
	})
}

// learnerLeftOver restores one member fewer than the drill has, then adds
// the last as a learner that is never promoted.
type learnerLeftOver struct{ recovery.SnapshotRestore }

func (l learnerLeftOver) Recover(ctx context.Context, env recovery.Env) (recovery.Outcome, error) {
	size := env.Size
	env.Size--
	out, err := l.SnapshotRestore.Recover(ctx, env)
	if err != nil {
		return out, err
	}
	c := out.Cluster
	specs, err := env.Drill.Plan(harness.Layout{Prefix: "l", Dir: "restored", Token: c.Token, Size: 1, First: size})
	if err != nil {
		return out, err
	}
	cli, err := c.Client()
	if err != nil {
		return out, err
	}
	// etcd refuses a membership change until its members have been
	// connected for 5 s: retry, bounded.
	var resp *clientv3.MemberAddResponse
	deadline := time.Now().Add(30 * time.Second)
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err = cli.MemberAddAsLearner(actx, []string{specs[0].PeerURL})
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, rpctypes.ErrUnhealthy) || time.Now().After(deadline) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	var ic []string
	for _, m := range resp.Members {
		name := m.Name
		if m.ID == resp.Member.ID {
			name = specs[0].Name
		}
		ic = append(ic, name+"="+m.PeerURLs[0])
	}
	specs[0].InitialCluster, specs[0].State = strings.Join(ic, ","), backend.StateExisting
	return out, c.Add(ctx, specs[0])
}

// TestFailPathLearnerLeftOver: the recovered cluster has the right number of
// members, but one is a learner that never became a voter.
func TestFailPathLearnerLeftOver(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		sc := lookupScenario(t, "quorum-loss/snapshot-restore")
		sc.Recovery = learnerLeftOver{}
		rep, err := runFailPath(t, sc, o)
		failPathVerify(t, rep, err, "member l3 is still a learner: the recovered cluster has 2 voting members, want 3")
	})
}

// deletesBehindTheWorkload takes the snapshot as usual, then deletes every
// workload key from the live cluster behind the workload's back, as a
// cluster that loses acknowledged writes would.
type deletesBehindTheWorkload struct{ recovery.SnapshotRestore }

func (deletesBehindTheWorkload) Backup(ctx context.Context, env recovery.Env, from backend.Member) (harness.Snapshot, error) {
	s, err := recovery.SaveSnapshot(ctx, env.Drill, from)
	if err != nil {
		return s, err
	}
	cli, err := env.Old.Client()
	if err != nil {
		return s, err
	}
	_, err = cli.Delete(ctx, workload.DefaultPrefix, clientv3.WithPrefix())
	return s, err
}

// TestFailPathLostBeforeFault: the workload's deletes after the snapshot
// find their keys gone although every put of them was acknowledged.
func TestFailPathLostBeforeFault(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		sc := lookupScenario(t, "quorum-loss/snapshot-restore")
		sc.Recovery = deletesBehindTheWorkload{}
		o.WritesAfter = 100
		o.Workload.DeleteRatio, o.Workload.OverwriteRatio = 1, 0 // a writer deletes every key it holds live
		o.Workload.ReadRatio = 0                                 // the history check is TestFailPathReadOfALostKey's
		rep, err := runDrill(t, sc, o)
		if err != nil || !rep.Verified {
			t.Fatalf("run: %v, verified %v: want the drill to run to the end", err, rep.Verified)
		}
		// A delete that found nothing after an acknowledged put is also
		// a history no order explains: both checks must say so.
		if len(rep.Failures) != 2 || !strings.HasPrefix(rep.Failures[0], verify.KindLostBeforeFault+": ") || !strings.HasPrefix(rep.Failures[1], linearize.FindingNotLinearizable+": ") {
			t.Fatalf("failures %q: want %s, then %s", rep.Failures, verify.KindLostBeforeFault, linearize.FindingNotLinearizable)
		}
		if rep.Keys.Lost != 0 || len(rep.Findings) == 0 || rep.Findings[0].Kind != verify.KindLostBeforeFault {
			t.Fatalf("keys %+v, findings %+v: want only keys lost before the fault", rep.Keys, rep.Findings)
		}
	})
}

// TestFailPathReadOfALostKey: keys deleted behind the workload's back,
// after the backup; the writers then only create new keys and read back
// their own. A read that finds absent a key whose acknowledged put nothing
// undid is a history no order explains. It is the only failure: the backup
// holds every key, and no write of the workload touches an old key.
func TestFailPathReadOfALostKey(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		sc := lookupScenario(t, "quorum-loss/snapshot-restore")
		sc.Recovery = deletesBehindTheWorkload{}
		o.Workload.DeleteRatio, o.Workload.OverwriteRatio, o.Workload.ReadRatio = 0, 0, 1
		o.WritesAfter = 300
		rep, err := runDrill(t, sc, o)
		if err != nil || !rep.Verified || rep.Workload.Reads == 0 {
			t.Fatalf("run: %v, verified %v, %d reads: want the drill to run to the end", err, rep.Verified, rep.Workload.Reads)
		}
		if len(rep.Failures) != 1 || !strings.HasPrefix(rep.Failures[0], linearize.FindingNotLinearizable+": ") {
			t.Fatalf("failures %q: want only %s", rep.Failures, linearize.FindingNotLinearizable)
		}
		if l := rep.Linearizability; l == nil || l.Verdict != "Illegal" || !rep.Kept {
			t.Fatalf("linearizability %+v, kept %v", l, rep.Kept)
		}
	})
}

// rewriteRevisions is a fault after the recovery that puts every workload key
// again with the value it holds: a "logical" restore that keeps values but
// not revisions.
type rewriteRevisions struct{ deleteAKey }

func (rewriteRevisions) Name() string { return "rewrite-revisions" }

func (f rewriteRevisions) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	e, cli, err := strikeRecovered(env, f.Name())
	if err != nil {
		return e, err
	}
	resp, err := cli.Get(ctx, workload.DefaultPrefix, clientv3.WithPrefix())
	if err != nil {
		return e, err
	}
	for _, kv := range resp.Kvs {
		// Each key keeps its lease: only its revisions change.
		if _, err := cli.Put(ctx, string(kv.Key), string(kv.Value), clientv3.WithLease(clientv3.LeaseID(kv.Lease))); err != nil {
			return e, err
		}
	}
	e.Detail = fmt.Sprintf("put %d keys again with their values", len(resp.Kvs))
	return e, nil
}

// TestFailPathRevisionsRewritten: every value is back, every revision is
// another: the drill fails with revision-rewritten, each key a finding.
func TestFailPathRevisionsRewritten(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		sc := lookupScenario(t, "quorum-loss/snapshot-restore")
		sc.After = append(sc.After, Act{Fault: rewriteRevisions{}})
		// Phased: a transaction in doubt, put again key by key, would
		// also be partial.
		rep, err := runFailPath(t, sc, phased(o))
		failPathVerify(t, rep, err, verify.KindRevisionRewritten+": ")
		if rep.Keys.Lost != 0 || rep.Keys.RevisionMismatch != rep.Keys.Expected || rep.Keys.Expected == 0 {
			t.Fatalf("keys %+v: want every expected key's revisions rewritten, nothing lost", rep.Keys)
		}
		if len(rep.Findings) == 0 || rep.Findings[0].Kind != verify.KindRevisionRewritten {
			t.Fatalf("findings %+v", rep.Findings)
		}
	})
}

// doctoredFloor runs force-new-cluster with the survivors' measured floor
// raised: as if the survivor had held more before the fault than it came
// back with.
type doctoredFloor struct{ recovery.ForceNewCluster }

func (d doctoredFloor) Recover(ctx context.Context, env recovery.Env) (recovery.Outcome, error) {
	raised := map[string]harness.MemberState{}
	for name, st := range env.Before {
		st.Revision += 1000
		raised[name] = st
	}
	env.Before = raised
	return d.ForceNewCluster.Recover(ctx, env)
}

// TestFailPathSurvivorLostHistory: a survivor that comes back below the
// revision measured before the fault fails the recovery.
func TestFailPathSurvivorLostHistory(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		sc := lookupScenario(t, "quorum-loss/force-new-cluster")
		sc.Recovery = doctoredFloor{}
		rep, err := runFailPath(t, sc, o)
		failPathAt(t, rep, err, "recover", recovery.FindingSurvivorLostHistory+": survivor")
	})
}

// deleteInDoubt is a doctored ledger: after the recovery it deletes a key
// the backup holds from the recovered cluster, and records an indeterminate
// delete of it, sent at sent(the backup's time). A write in doubt sent
// before the backup could have deleted the key; one sent after could not.
type deleteInDoubt struct {
	deleteAKey // Needs and Confirm
	sent       func(taken time.Time) time.Time
	deleted    *string
}

func (deleteInDoubt) Name() string { return "delete-in-doubt" }

func (f deleteInDoubt) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	e, cli, err := strikeRecovered(env, f.Name())
	if err != nil {
		return e, err
	}
	ops := env.Ledger.Ops()
	for _, key := range solidKeys(ops, env.Snapshot.Revision) {
		resp, err := cli.Delete(ctx, key)
		if err != nil {
			return e, fmt.Errorf("test double: delete %s: %w", key, err)
		}
		if resp.Deleted == 0 {
			continue
		}
		// The writer that owns the key, one write after its last.
		op := workload.Op{Kind: workload.Delete, Key: key, Outcome: workload.Indeterminate, Err: "doctored", Sent: f.sent(env.Snapshot.Taken)}
		for _, o := range ops {
			if o.Key == key {
				op.Writer = o.Writer
			}
		}
		for _, o := range ops {
			if o.Writer == op.Writer {
				op.Seq = max(op.Seq, o.Seq+1)
			}
		}
		env.Ledger.Record(op)
		*f.deleted = key
		e.Detail = "deleted " + key + ", a delete in doubt recorded"
		return e, nil
	}
	return e, errors.New("test double: no key of the backup in the recovered keyspace to delete")
}

// TestFailPathDoubtSentAfterBackup: a write in doubt sent after the backup
// was taken cannot be in it, so it cannot excuse a key missing from the
// restored cluster. The same delete sent just before the backup does.
func TestFailPathDoubtSentAfterBackup(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		t.Run("sent after", func(t *testing.T) {
			var deleted string
			sc := lookupScenario(t, "quorum-loss/snapshot-restore")
			sc.After = append(sc.After, Act{Fault: deleteInDoubt{deleted: &deleted, sent: func(taken time.Time) time.Time { return taken.Add(time.Millisecond) }}})
			rep, err := runFailPath(t, sc, phased(o))
			failPathLostKey(t, rep, err, deleted)
		})
		t.Run("sent before", func(t *testing.T) {
			var deleted string
			sc := lookupScenario(t, "quorum-loss/snapshot-restore")
			sc.After = append(sc.After, Act{Fault: deleteInDoubt{deleted: &deleted, sent: func(taken time.Time) time.Time { return taken.Add(-time.Millisecond) }}})
			rep, err := runDrill(t, sc, phased(o))
			if err != nil || !rep.Passed {
				t.Fatalf("run: %v, failures %q: a delete in doubt sent before the backup explains the absence of %s", err, rep.Failures, deleted)
			}
			if deleted == "" || rep.Keys.Indeterminate != 1 || rep.Keys.Lost != 0 {
				t.Fatalf("deleted %q, keys %+v: want the deleted key excused by its delete in doubt", deleted, rep.Keys)
			}
		})
	})
}

// olderSurvivorDisk kills a majority, then swaps each survivor's data dir
// for an older one under it while it runs (the running etcd keeps its open
// files): the drill's snapshot, taken before the last writes, restored with
// the old cluster's members and token so that it still belongs to the
// cluster. When force-new-cluster restarts the survivor, it starts on the
// older disk, as a host whose disk was restored from last night's backup.
type olderSurvivorDisk struct{ faults.KillMajority }

func (f olderSurvivorDisk) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	e, err := f.KillMajority.Inject(ctx, env)
	if err != nil {
		return e, err
	}
	c := env.Cluster
	for _, s := range c.Live() {
		var specs []backend.MemberSpec
		for _, m := range c.AllMembers() {
			spec, _ := c.Spec(m.Name())
			if m.Name() != s.Name() {
				// Only the survivor's disk is swapped; the others are
				// restored where nothing reads them.
				spec.DataDir = filepath.Join(env.Drill.RunDir, "scratch-"+m.Name())
			} else if err := os.Rename(spec.DataDir, spec.DataDir+".swapped"); err != nil {
				return e, err
			}
			specs = append(specs, spec)
		}
		if err := recovery.RestoreAll(ctx, env.Drill, env.Snapshot.Path, specs, false, 0); err != nil {
			return e, fmt.Errorf("test double: restore %s's older disk: %w", s.Name(), err)
		}
		e.Detail += fmt.Sprintf("; %s's data dir swapped for the snapshot at revision %d", s.Name(), env.Snapshot.Revision)
	}
	return e, nil
}

// TestFailPathSurvivorOnAnOlderDisk: force-new-cluster from a survivor whose
// data dir is older than what it had applied before the fault.
func TestFailPathSurvivorOnAnOlderDisk(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		sc := lookupScenario(t, "quorum-loss/force-new-cluster")
		sc.Fault, sc.Backup = olderSurvivorDisk{}, BackupLive
		rep, err := runFailPath(t, sc, o)
		failPathAt(t, rep, err, "recover", fmt.Sprintf("%s: survivor m", recovery.FindingSurvivorLostHistory))
		if !strings.Contains(rep.Failures[0], fmt.Sprintf("came back at revision %d, below", rep.Snapshot.Revision)) {
			t.Fatalf("failures %q: want the survivor back at the snapshot's revision %d", rep.Failures, rep.Snapshot.Revision)
		}
	})
}

// revisionGoesBack is a doctored ledger: two puts of a key no one else
// writes, the second sent after the first was answered, yet answered with
// a lower revision, as a proxy replaying old answers would. Both are above
// the backup's revision, so the keyspace check expects the key absent and
// finds it so: only the history check can see it.
type revisionGoesBack struct{ deleteAKey }

func (revisionGoesBack) Name() string { return "revision-goes-back" }

func (f revisionGoesBack) Inject(_ context.Context, env faults.Env) (harness.Effect, error) {
	now := time.Now()
	top := env.Ledger.MaxRevision() + 100
	key := workload.DefaultPrefix + "doctored"
	env.Ledger.Record(workload.Op{Writer: 999, Seq: 1, Kind: workload.Put, Key: key, Value: "a", Outcome: workload.Acknowledged, Revision: top, Sent: now, Done: now.Add(time.Millisecond)})
	env.Ledger.Record(workload.Op{Writer: 999, Seq: 2, Kind: workload.Put, Key: key, Value: "b", Outcome: workload.Acknowledged, Revision: top - 1, Sent: now.Add(2 * time.Millisecond), Done: now.Add(3 * time.Millisecond)})
	return harness.Effect{Fault: f.Name(), At: now, Detail: "two answers recorded with revisions going back"}, nil
}

// TestFailPathNotLinearizable: a history whose revisions go back fails the
// drill with not-linearizable, keeps the run directory and writes
// porcupine's view of the history in it.
func TestFailPathNotLinearizable(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		sc := lookupScenario(t, "quorum-loss/snapshot-restore")
		sc.After = append(sc.After, Act{Fault: revisionGoesBack{}})
		rep, err := runDrill(t, sc, o)
		if err != nil || rep.Passed {
			t.Fatalf("run: %v, passed %v: want the drill to fail its history check", err, rep.Passed)
		}
		if len(rep.Failures) != 1 || !strings.HasPrefix(rep.Failures[0], linearize.FindingNotLinearizable+": ") {
			t.Fatalf("failures %q: want only %s", rep.Failures, linearize.FindingNotLinearizable)
		}
		l := rep.Linearizability
		if l == nil || l.Verdict != "Illegal" || l.Operations < o.Keys {
			t.Fatalf("linearizability %+v", l)
		}
		if !rep.Kept || !strings.HasPrefix(l.Visualization, rep.RunDir) {
			t.Fatalf("kept %v, run dir %q, view %q: want the view kept in the run directory", rep.Kept, rep.RunDir, l.Visualization)
		}
		b, err := os.ReadFile(l.Visualization)
		if err != nil || !strings.Contains(string(b), "doctored") {
			t.Fatalf("the view does not show the doctored key (%d bytes, %v)", len(b), err)
		}
	})
}

// breakATxn deletes, after the recovery, one put of a transaction the
// backup holds whole (acknowledged at or below its revision, every key's
// last write): a restore that kept a transaction in part.
type breakATxn struct {
	deleteAKey // Needs and Confirm
	deleted    *string
}

func (breakATxn) Name() string { return "break-a-txn" }

func (f breakATxn) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	e, cli, err := strikeRecovered(env, f.Name())
	if err != nil {
		return e, err
	}
	ops := env.Ledger.Ops()
	solid := map[string]bool{}
	for _, k := range solidKeysOf(ops, env.Snapshot.Revision, true) {
		solid[k] = true
	}
	lastSeq := map[string]int{}
	for _, op := range ops {
		lastSeq[op.Key] = max(lastSeq[op.Key], op.Seq)
	}
	// A transaction every key of which it wrote last, solidly: the writers
	// running through the recovery may have written its other keys since.
	whole := map[[2]int]bool{}
	for _, op := range ops {
		if op.Txn >= 2 {
			id := [2]int{op.Writer, op.Seq}
			if _, seen := whole[id]; !seen {
				whole[id] = true
			}
			whole[id] = whole[id] && solid[op.Key] && lastSeq[op.Key] == op.Seq
		}
	}
	for _, op := range ops {
		if op.Txn < 2 || op.Outcome != workload.Acknowledged || !whole[[2]int{op.Writer, op.Seq}] {
			continue
		}
		if _, err := cli.Delete(ctx, op.Key); err != nil {
			return e, fmt.Errorf("test double: delete %s: %w", op.Key, err)
		}
		*f.deleted = op.Key
		e.Detail = fmt.Sprintf("deleted %s, one put of transaction w%d-s%d", op.Key, op.Writer, op.Seq)
		return e, nil
	}
	return e, errors.New("test double: no transaction the backup holds whole")
}

// TestFailPathPartialTxn: a transaction held in part fails the drill with
// partial-txn, beside the lost key.
func TestFailPathPartialTxn(t *testing.T) {
	onEmbeddedAndProcess(t, func(t *testing.T, o Options) {
		var deleted string
		sc := lookupScenario(t, "quorum-loss/snapshot-restore")
		sc.After = append(sc.After, Act{Fault: breakATxn{deleted: &deleted}})
		o.Workload.TxnRatio = 0.3
		rep, err := runFailPath(t, sc, o)
		if err != nil || !rep.Verified {
			t.Fatalf("run: %v, verified %v", err, rep.Verified)
		}
		if rep.Keys.Lost != 1 || rep.Keys.PartialTxns != 1 || len(rep.Failures) != 2 ||
			!strings.HasPrefix(rep.Failures[0], "1 acknowledged keys lost") || !strings.HasPrefix(rep.Failures[1], verify.KindPartialTxn+": 1 transactions") {
			t.Fatalf("keys %+v, failures %q: want %s lost and its transaction partial", rep.Keys, rep.Failures, deleted)
		}
		if rep.Findings[0].Key != deleted || rep.Findings[0].Kind != verify.KindPartialTxn {
			t.Fatalf("findings %+v: want %s first as %s", rep.Findings, deleted, verify.KindPartialTxn)
		}
	})
}
