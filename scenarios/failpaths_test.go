package scenarios

// Each scenario's key assertion must be able to fail. Every test here runs a
// catalogue scenario with one ingredient (its fault or its recovery) swapped
// for a wrong one, and checks that the drill fails for that reason, that the
// cleanup still ran, and that nothing was left in the base dir.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/workload"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// runFailPath runs sc with its wrong ingredient and checks what every failed
// drill must show whatever the reason: a failed report, a clean cleanup as
// the last step, an empty base dir (none of these scenarios is a runbook,
// which alone keeps its run directory) and no member still listening.
func runFailPath(t *testing.T, sc Scenario, o Options) (*report.Report, error) {
	t.Helper()
	rep, err := runDrill(t, sc, o)
	if rep.Passed || len(rep.Failures) == 0 {
		t.Fatalf("the drill passed with a wrong ingredient (error %v)", err)
	}
	if rep.Kept || rep.RunDir != "" {
		t.Fatalf("a failed drill that is not a runbook keeps nothing: kept=%v run dir %q", rep.Kept, rep.RunDir)
	}
	leftNothing(t, rep, o.BaseDir)
	return rep, err
}

// failPathAt checks that the drill stopped at step with an error saying want,
// and that this error is its one failure.
func failPathAt(t *testing.T, rep *report.Report, err error, step, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("run returned no error; failures %q, want step %s to fail with %q", rep.Failures, step, want)
	}
	if !strings.HasPrefix(err.Error(), "step "+step+": ") || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want step %s to fail with %q", err, step, want)
	}
	if len(rep.Failures) != 1 || rep.Failures[0] != err.Error() {
		t.Fatalf("failures %q, want only the error of step %s", rep.Failures, step)
	}
	// The step before cleanup is the one that failed: nothing ran after it.
	failed := rep.Steps[len(rep.Steps)-2]
	if failed.Name != step || !strings.Contains(failed.Error, want) {
		t.Fatalf("step before cleanup %+v, want %s failing with %q", failed, step, want)
	}
	if rep.Verified {
		t.Fatal("the keyspace was verified after a failed step")
	}
}

// failPathVerify checks that the drill ran to the end and that the keyspace
// check found exactly one failure, saying want.
func failPathVerify(t *testing.T, rep *report.Report, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("run: %v (want the drill to run to the end and fail its verification)", err)
	}
	if !rep.Verified {
		t.Fatal("the keyspace was not verified")
	}
	if len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], want) {
		t.Fatalf("failures %q, want exactly one saying %q", rep.Failures, want)
	}
	// verify and what follows ran to their end; the finding is verify's.
	var names []string
	for _, st := range rep.Steps {
		names = append(names, st.Name)
		if st.Error != "" {
			t.Fatalf("step %s: %s: want every step without error", st.Name, st.Error)
		}
	}
	if n := len(names); n < 4 || names[n-4] != "verify" || names[n-2] != "check-history" {
		t.Fatalf("steps %v: want verify, check-leases, check-history, cleanup last", names)
	}
}

// failPathLostKey checks that the one failure is the key the recovery
// deleted, lost, and nothing else.
func failPathLostKey(t *testing.T, rep *report.Report, err error, deleted string) {
	t.Helper()
	failPathVerify(t, rep, err, "1 acknowledged keys lost")
	if deleted == "" {
		t.Fatal("the recovery deleted no key")
	}
	if rep.Keys.Lost != 1 || rep.Keys.Resurrected != 0 {
		t.Fatalf("keys %+v, want exactly 1 lost", rep.Keys)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Key != deleted || rep.Findings[0].Kind != "lost" {
		t.Fatalf("findings %+v, want %s lost", rep.Findings, deleted)
	}
	if !rep.Cluster.HashKVConsistent || len(rep.Cluster.Members) != rep.Members {
		t.Fatalf("cluster %+v: the loss must be the only failure", rep.Cluster)
	}
}

// failPathWithFault runs the scenario called name with fault f in place of
// its own and checks that the drill fails at step with an error saying want.
func failPathWithFault(t *testing.T, name string, f faults.Fault, step, want string) (*report.Report, error) {
	t.Helper()
	sc := lookupScenario(t, name)
	sc.Fault = f
	rep, err := runFailPath(t, sc, smallOptions(t))
	failPathAt(t, rep, err, step, want)
	return rep, err
}

// failPathLosesAKey runs the scenario called name with a key deleted after
// its recovery and checks that the drill fails for that key's loss alone.
func failPathLosesAKey(t *testing.T, name string) *report.Report {
	t.Helper()
	sc := lookupScenario(t, name)
	var deleted string
	sc.After = append(sc.After, Act{Fault: deleteAKey{deleted: &deleted}})
	rep, err := runFailPath(t, sc, smallOptions(t))
	failPathLostKey(t, rep, err, deleted)
	return rep
}

// failPathWithoutGrow runs the scenario called name with a recovery that
// does not grow the cluster back (see withoutGrow) and checks that its
// verification fails for the member count.
func failPathWithoutGrow(t *testing.T, name string) *report.Report {
	t.Helper()
	sc := lookupScenario(t, name)
	sc.Recovery = withoutGrow{sc.Recovery}
	o := smallOptions(t)
	rep, err := runFailPath(t, sc, o)
	failPathVerify(t, rep, err, fmt.Sprintf("the recovered cluster has 1 members, want %d", o.Members))
	return rep
}

// impostor passes for a fault (its name, its needs, its confirmation) but
// does the damage of another: the fault gone wrong, which the confirmation
// must catch.
type impostor struct {
	faults.Fault              // the fault it passes for
	does         faults.Fault // the damage it does instead
}

func (f impostor) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	e, err := f.does.Inject(ctx, env)
	e.Fault = f.Name()
	return e, err
}

// solidKeys returns, in key order, the keys whose every write was
// acknowledged at or below rev and whose last write is a put: a recovered
// keyspace that holds such a key as of rev must keep it, and no
// indeterminate write can excuse its absence.
func solidKeys(ops []workload.Op, rev int64) []string {
	return solidKeysOf(ops, rev, false)
}

// solidKeysOf is solidKeys, with the keys of transactions too if txns.
func solidKeysOf(ops []workload.Op, rev int64, txns bool) []string {
	type history struct {
		last  workload.Op
		clean bool
	}
	byKey := map[string]*history{}
	for _, op := range ops {
		h := byKey[op.Key]
		if h == nil {
			h = &history{clean: true}
			byKey[op.Key] = h
		}
		// A transaction's or a lease's key would also be a finding of its
		// transaction or lease.
		if op.Outcome != workload.Acknowledged || op.Revision > rev || (op.Txn > 0 && !txns) || op.Lease != 0 {
			h.clean = false
			continue
		}
		if op.Revision > h.last.Revision {
			h.last = op
		}
	}
	var keys []string
	for k, h := range byKey {
		if h.clean && h.last.Kind == workload.Put {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// deleteAKey is a fault that strikes after the recovery: it deletes one
// acknowledged key that the recovered cluster holds (a solid one: every
// write of it acknowledged, the last a put), as a broken procedure might.
type deleteAKey struct {
	faults.KillMajority // Needs, and a name nobody reads
	deleted             *string
}

func (deleteAKey) Name() string { return "delete-a-key" }

func (f deleteAKey) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	e, cli, err := strikeRecovered(env, f.Name())
	if err != nil {
		return e, err
	}
	for _, key := range solidKeys(env.Ledger.Ops(), harness.AllWrites) {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := cli.Delete(dctx, key)
		cancel()
		if err != nil {
			return e, fmt.Errorf("test double: delete %s: %w", key, err)
		}
		if resp.Deleted == 1 {
			*f.deleted = key
			e.Detail = "deleted " + key
			return e, nil
		}
	}
	return e, errors.New("test double: no acknowledged key in the recovered keyspace to delete")
}

func (deleteAKey) Confirm(_ context.Context, _ faults.Env, e harness.Effect) (harness.Effect, error) {
	return e, nil
}

// withoutGrow runs a recovery that grows a one-member cluster back to the
// drill's size as if the drill had one member: it adds nobody back.
type withoutGrow struct{ recovery.Recovery }

func (r withoutGrow) Recover(ctx context.Context, env recovery.Env) (recovery.Outcome, error) {
	env.Size = 1
	return r.Recovery.Recover(ctx, env)
}

// hashedCopiedDB gives the copied db a valid sha256 trailer before the
// copied-db recovery runs, as if it were a snapshot saved by etcdctl: the
// restore without --skip-hash-check then has a hash to check, and succeeds.
type hashedCopiedDB struct{ recovery.CopiedDBRestore }

func (r hashedCopiedDB) Recover(ctx context.Context, env recovery.Env) (recovery.Outcome, error) {
	if err := appendSHA256(env.Snapshot.Path); err != nil {
		return recovery.Outcome{}, err
	}
	return r.CopiedDBRestore.Recover(ctx, env)
}

// appendSHA256 appends the sha256 of the file's content to it. etcdutl takes
// a file whose size is 32 bytes past a multiple of 512 to end with its hash.
func appendSHA256(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if n%512 != 0 {
		return fmt.Errorf("test double: copied db is %d bytes, not a multiple of 512: a trailer would not read as a hash", n)
	}
	if _, err := f.Write(h.Sum(nil)); err != nil {
		return err
	}
	return f.Close()
}

func TestFailPathCopiedDBWithAHashRestoresWithoutSkipHashCheck(t *testing.T) {
	sc := lookupScenario(t, "copied-db/skip-hash-check")
	sc.Recovery = hashedCopiedDB{}
	rep, err := runFailPath(t, sc, smallOptions(t))
	failPathAt(t, rep, err, "recover", "restored without --skip-hash-check")
	// The backup was the copied db, and the copy-db step did run.
	if rep.Steps[len(rep.Steps)-3].Name != "copy-db" || rep.Snapshot.Revision == 0 {
		t.Fatalf("steps %+v, snapshot %+v: want the copied db as the backup", rep.Steps, rep.Snapshot)
	}
}

// undoneCorruption flips the snapshot's bytes, then flips them back.
type undoneCorruption struct{ faults.CorruptSnapshot }

func (f undoneCorruption) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	e, err := f.CorruptSnapshot.Inject(ctx, env)
	if err != nil {
		return e, err
	}
	if _, err := f.CorruptSnapshot.Inject(ctx, env); err != nil {
		return e, err
	}
	e.Detail += ", then flipped them back"
	return e, nil
}

func TestFailPathCorruptSnapshotUndoneIsNotConfirmed(t *testing.T) {
	failPathWithFault(t, "corrupt-snapshot/rejected", undoneCorruption{}, "confirm-fault", "nothing was corrupted")
}

// pretendCorruption touches nothing and confirms anyway: the recovery then
// gets an intact snapshot that it was told is damaged.
type pretendCorruption struct{ faults.CorruptSnapshot }

func (pretendCorruption) Inject(context.Context, faults.Env) (harness.Effect, error) {
	return harness.Effect{Fault: "corrupt-snapshot", At: time.Now(), Detail: "touched nothing"}, nil
}

func (pretendCorruption) Confirm(_ context.Context, env faults.Env, e harness.Effect) (harness.Effect, error) {
	ok, err := faults.HashMatches(env.Snapshot.Path)
	if err != nil {
		return e, err
	}
	if !ok {
		return e, errors.New("test double: the snapshot is damaged, want it intact")
	}
	e.Detail += "; confirmed although the snapshot is intact"
	return e, nil
}

func TestFailPathCorruptSnapshotIntactIsRestored(t *testing.T) {
	failPathWithFault(t, "corrupt-snapshot/rejected", pretendCorruption{}, "recover", "its integrity check did not catch the damage")
}

func TestFailPathForceNewClusterLosesAKey(t *testing.T) {
	rep := failPathLosesAKey(t, "quorum-loss/force-new-cluster")
	if !strings.HasPrefix(rep.RPO.Baseline, "survivor ") {
		t.Fatalf("baseline %q, want the survivor's revision", rep.RPO.Baseline)
	}
}

func TestFailPathForceNewClusterWithoutAddingBack(t *testing.T) {
	rep := failPathWithoutGrow(t, "quorum-loss/force-new-cluster")
	if rep.Keys.Lost != 0 || rep.Cluster.IDChanged {
		t.Fatalf("keys %+v, cluster %+v: the member count must be the only failure", rep.Keys, rep.Cluster)
	}
}

// The disk loss gone wrong: a majority killed as the disk loss does, but
// their data dirs left in place.
func TestFailPathDiskLossWithDisksKept(t *testing.T) {
	killKeepDisks := impostor{faults.LoseDisks{}, faults.KillMajority{}}
	rep, err := failPathWithFault(t, "disk-loss/snapshot-restore", killKeepDisks, "confirm-fault", "data dirs still there")
	if rep.Fault == nil || len(rep.Fault.Members) != 2 {
		t.Fatalf("fault %+v, want 2 of 3 killed", rep.Fault)
	}
	for _, name := range rep.Fault.Members {
		if !strings.Contains(err.Error(), "/"+name+".etcd") {
			t.Fatalf("error %q does not name the data dir of %s", err, name)
		}
	}
}

func TestFailPathMemberReplaceLosesAKey(t *testing.T) {
	failPathLosesAKey(t, "minority-loss/member-replace")
}

// The member loss gone wrong: a majority lost (killed, data dirs destroyed)
// instead of one member.
func TestFailPathMemberReplaceAfterLosingAMajority(t *testing.T) {
	loseMajorityAsMember := impostor{faults.LoseMember{}, faults.LoseDisks{}}
	failPathWithFault(t, "minority-loss/member-replace", loseMajorityAsMember, "confirm-fault", "the others lost quorum")
}

func TestFailPathSeedNeverGrown(t *testing.T) {
	rep := failPathWithoutGrow(t, "quorum-loss/restore-seed-and-grow")
	if rep.Keys.Lost != 0 || !rep.Cluster.IDChanged {
		t.Fatalf("keys %+v, cluster %+v: the member count must be the only failure", rep.Keys, rep.Cluster)
	}
}

func TestFailPathBumpRevisionWithoutBump(t *testing.T) {
	sc := lookupScenario(t, "quorum-loss/snapshot-restore-bump-revision")
	sc.Recovery = recovery.SnapshotRestore{}
	rep, err := runFailPath(t, sc, smallOptions(t))
	failPathVerify(t, rep, err, "not above the old cluster's")
	if rep.Cluster.RevisionBumpedFrom != 0 || rep.Keys.Lost != 0 {
		t.Fatalf("cluster %+v, keys %+v: the revision must be the only failure", rep.Cluster, rep.Keys)
	}
}

// isolateOne black-holes the peer traffic of one follower: the other two of
// three keep quorum.
type isolateOne struct{ faults.PartitionMajority }

func (isolateOne) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	c := env.Cluster
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	leader, err := c.Leader(lctx)
	cancel()
	if err != nil {
		return harness.Effect{}, err
	}
	for _, m := range c.Live() {
		if m.Name() != leader.Name() {
			e := harness.Effect{Fault: "partition-one", Members: []string{m.Name()}, At: time.Now()}
			e.Detail = "black-holed the peer traffic of follower " + m.Name()
			return e, c.Isolate(ctx, m.Name())
		}
	}
	return harness.Effect{}, errors.New("test double: no follower to isolate")
}

func TestFailPathPartitionOfOneMember(t *testing.T) {
	rep, _ := failPathWithFault(t, "partition/majority-isolated", isolateOne{}, "confirm-fault", "quorum not lost")
	if rep.Fault == nil || rep.Fault.QuorumLost {
		t.Fatalf("fault %+v, want quorum kept", rep.Fault)
	}
}

func TestFailPathPartitionHealLosesAKey(t *testing.T) {
	rep := failPathLosesAKey(t, "partition/majority-isolated")
	if rep.RPO.Baseline != "every acknowledged write" {
		t.Fatalf("baseline %q, want every acknowledged write", rep.RPO.Baseline)
	}
}
