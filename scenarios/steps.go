package scenarios

import (
	"context"
	"errors"
	"fmt"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
	"github.com/etcd-drill/etcd-drill/recovery"
)

func (r *runner) startCluster(ctx context.Context) (string, error) {
	d := r.d
	c, err := d.StartCluster(ctx, harness.Layout{Prefix: "m", Dir: "cluster", Token: d.Token, Size: d.Size})
	if err != nil {
		return "", err
	}
	r.cluster = c
	if r.oldID, err = c.ClusterID(ctx); err != nil {
		return "", err
	}
	wcfg := r.o.Workload
	wcfg.Seed, wcfg.Run = r.o.Seed, r.rep.RunID
	if r.workload, err = workload.New(wcfg, workload.NewLedger()); err != nil {
		return "", err
	}
	r.rep.Workload.Concurrency, r.rep.Workload.ValueSize = wcfg.Concurrency, wcfg.ValueSize
	vs, err := r.versions(ctx, c)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d members %s, cluster %016x, etcd %s", len(c.Members()), strings.Join(harness.Names(c.Members()), ","), r.oldID, vs), nil
}

// versions records what each member of c says it runs, and says it in
// short: one version, or each member's.
func (r *runner) versions(ctx context.Context, c *harness.Cluster) (string, error) {
	vs, err := c.Versions(ctx)
	if err != nil {
		return "", err
	}
	if r.rep.MemberVersions == nil {
		r.rep.MemberVersions = map[string]string{}
	}
	seen := map[string]bool{}
	var each []string
	for _, name := range harness.Names(c.Live()) {
		r.rep.MemberVersions[name] = vs[name]
		seen[vs[name]] = true
		each = append(each, name+" "+vs[name])
	}
	if len(seen) == 1 {
		for v := range seen {
			return v, nil
		}
	}
	return strings.Join(each, ", "), nil
}

func (r *runner) write(ctx context.Context, phase string, n int) (string, error) {
	if n == 0 {
		return "no writes", nil
	}
	cli, err := r.cluster.UserClient()
	if err != nil {
		return "", err
	}
	var progress func(int)
	if r.o.Progress != nil {
		progress = func(done int) { r.o.Progress(phase, done, n) }
	}
	st, err := r.workload.Run(ctx, cli, n, progress)
	switch phase {
	case "workload":
		r.rep.Workload.BeforeSnapshot = st.Total()
		r.rep.Workload.AckedPerSecond = st.PerSecond()
	case "workload-after-snapshot":
		r.rep.Workload.AfterSnapshot = st.Total()
	}
	r.rep.Workload.Writes += st.Total()
	r.rep.Workload.Reads += st.Reads
	detail := fmt.Sprintf("%d writes: %d acknowledged, %d failed, %d indeterminate, %.0f acked/s; %d reads",
		st.Total(), st.Acknowledged, st.Failed, st.Indeterminate, st.PerSecond(), st.Reads)
	if err != nil {
		return detail, err
	}
	if st.Acknowledged == 0 {
		return detail, errors.New("no write was acknowledged: the cluster is not taking writes")
	}
	return detail, nil
}

// Findings about a backup that does not hold what it must.
const (
	// FindingStaleBackup: the backup's revision is below its floor.
	FindingStaleBackup = "stale-backup"
	// FindingEmptyBackup: the backup holds none of the workload's keys.
	FindingEmptyBackup = "empty-backup"
)

// checkBackup fails a backup below its floor or without any key.
func checkBackup(s harness.Snapshot, floor int64, what string) error {
	switch {
	case s.Revision < floor:
		return fmt.Errorf("%s: the backup is at revision %d, below %d, %s", FindingStaleBackup, s.Revision, floor, what)
	case floor > 0 && s.Keys == 0:
		return fmt.Errorf("%s: the backup holds no key at all (revision %d), though writes were acknowledged up to revision %d", FindingEmptyBackup, s.Revision, floor)
	}
	return nil
}

func (r *runner) takeSnapshot(ctx context.Context) (string, error) {
	// The floor: every write acknowledged before the backup is asked for
	// must be in it.
	floor := r.ledger().MaxRevision()
	m, err := r.cluster.Leader(ctx)
	if err != nil {
		live := r.cluster.Live()
		if len(live) == 0 {
			return "", errors.New("no live member to take a snapshot from")
		}
		m = live[0]
	}
	// Members apply committed entries each at its own pace: the member the
	// backup comes from may not yet have applied a write another member
	// acknowledged. A linearizable read through it returns only once it
	// has, so that its backup can be held to the floor.
	if err := r.syncMember(ctx, m); err != nil {
		return "", err
	}
	var s harness.Snapshot
	if b, ok := r.sc.Recovery.(recovery.Backuper); ok {
		s, err = b.Backup(ctx, r.recoveryEnv(), m)
	} else {
		s, err = recovery.SaveSnapshot(ctx, r.d, m)
	}
	if err != nil {
		return "", err
	}
	s.Taken = time.Now()
	r.snapshot = s
	r.rep.Snapshot = report.Snapshot{
		Path: s.Path, Member: s.Member, Revision: s.Revision, SizeBytes: s.Size, TotalKeys: s.Keys, Hash: s.Hash, Floor: floor,
	}
	detail := fmt.Sprintf("revision %d (floor %d), %d bytes, %d keys, from %s", s.Revision, floor, s.Size, s.Keys, s.Member)
	return detail, checkBackup(s, floor, "the highest revision acknowledged before it was asked for")
}

// syncMember waits until m has applied every write acknowledged so far.
func (r *runner) syncMember(ctx context.Context, m backend.Member) error {
	cli, err := r.cluster.Client(m)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Get(sctx, harness.ProbePrefix+"sync"); err != nil {
		return fmt.Errorf("linearizable read through %s before its backup: %w", m.Name(), err)
	}
	return nil
}

// faultEnv is what the fault acts on.
func (r *runner) faultEnv() faults.Env {
	return faults.Env{Drill: r.d, Cluster: r.cluster, Snapshot: r.snapshot, Ledger: r.ledger(), Checkpoint: r.checkpoint}
}

// recoveryEnv is what the recovery works from.
func (r *runner) recoveryEnv() recovery.Env {
	return recovery.Env{Drill: r.d, Old: r.cluster, Snapshot: r.snapshot, Size: r.d.Size, Before: r.before}
}

// measureBefore reads each live member's state just before the fault: the
// floor of what it may come back with (a survivor forced into a new
// cluster), and of a db copied from it afterwards.
func (r *runner) measureBefore(ctx context.Context) map[string]harness.MemberState {
	out := map[string]harness.MemberState{}
	for _, m := range r.cluster.Live() {
		cli, err := r.cluster.Client(m)
		if err != nil {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		if st, err := cli.Status(sctx, m.ClientURL()); err == nil {
			out[m.Name()] = harness.MemberState{Revision: st.Header.Revision, Applied: st.RaftAppliedIndex}
		}
		cancel()
	}
	return out
}

func (r *runner) inject(ctx context.Context) (string, error) {
	if r.leases != nil {
		// Its holder dies with the fault.
		r.leases.StopKeepAlive()
	}
	r.before = r.measureBefore(ctx)
	if cli, err := r.cluster.Client(); err == nil {
		gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if resp, err := cli.Get(gctx, harness.ProbePrefix+"revision"); err == nil {
			r.oldLastRev = resp.Header.Revision
		}
		cancel()
	}
	e, err := r.sc.Fault.Inject(ctx, r.faultEnv())
	err = r.upgradeRefused(err)
	r.effect = e
	r.rep.Fault = &report.Fault{Name: e.Fault, Members: e.Members, At: e.At, Detail: e.Detail}
	return e.Detail, err
}

func (r *runner) confirm(ctx context.Context) (string, error) {
	e, err := r.sc.Fault.Confirm(ctx, r.faultEnv(), r.effect)
	r.effect = e
	r.confirmed = time.Now()
	r.rep.Fault.QuorumLost, r.rep.Fault.Detail, r.rep.Fault.Members = e.QuorumLost, e.Detail, e.Members
	r.rep.Fault.ConfirmedAt = r.confirmed
	if err != nil {
		return e.Detail, err
	}
	if r.sc.Expect.QuorumLost && !e.QuorumLost {
		return e.Detail, errors.New("the fault did not break quorum")
	}
	return e.Detail, nil
}

// copyDB copies member/snap/db out of a dead member's data dir: the backup
// of an operator who has no snapshot but whose disk survived.
func (r *runner) copyDB(ctx context.Context) (string, error) {
	s, err := recovery.CopyDB(ctx, r.recoveryEnv())
	if err != nil {
		return "", err
	}
	// The member was confirmed dead: nothing sent since is in its db.
	s.Taken = r.confirmed
	r.snapshot = s
	// What that member had applied before the fault. etcd commits its db
	// in batches (every 100 ms by default), and a killed member's db lacks
	// its last batch, which only its WAL holds: a copied db below this is
	// what copying a db costs (its RPO), not a stale backup, and is noted.
	// Only a db without any key fails.
	applied := r.before[s.Member].Revision
	r.rep.Snapshot = report.Snapshot{Path: s.Path, Member: s.Member, Revision: s.Revision, SizeBytes: s.Size, TotalKeys: s.Keys, Hash: s.Hash, Floor: applied}
	if s.Revision < applied {
		r.rep.Note(fmt.Sprintf("the db copied from %s is at revision %d, %d below the %d it had applied before the fault: its last backend batch was not yet committed to the db (it is in the WAL)",
			s.Member, s.Revision, applied-s.Revision, applied))
	}
	detail := fmt.Sprintf("%s/member/snap/db of %s: revision %d (applied before the fault %d), %d bytes, %d keys, no integrity hash", s.Member+".etcd", s.Member, s.Revision, applied, s.Size, s.Keys)
	return detail, checkBackup(s, min(applied, 1), "while writes were acknowledged")
}

// recover runs the recovery and records its outcome: notes, hazards, the
// baseline (the snapshot's revision unless the recovery names another).
func (r *runner) recover(ctx context.Context) (string, error) {
	if err := r.restoreOnVersion(); err != nil {
		return "", err
	}
	r.recoverStart = time.Now()
	out, err := r.sc.Recovery.Recover(ctx, r.recoveryEnv())
	for _, n := range out.Notes {
		r.rep.Note(n)
	}
	for _, h := range out.Hazards {
		r.rep.AddHazard(h.Name, h.Detail)
	}
	r.rep.HealSeconds = out.HealSeconds
	r.rep.Snapshot.HashChecked = out.HashChecked
	if err != nil {
		return "", err
	}
	if out.Baseline.Revision == 0 {
		out.Baseline = recovery.Baseline{Revision: r.snapshot.Revision, Why: fmt.Sprintf("snapshot revision %d", r.snapshot.Revision), SentBefore: r.snapshot.Taken}
	}
	r.outcome = out
	c := out.Cluster
	if c == nil {
		if out.Refused == nil {
			return "", errors.New("the recovery returned no cluster and no reason")
		}
		return fmt.Sprintf("%s: refused the backup as it must: %v", r.sc.Recovery.Name(), out.Refused), nil
	}
	r.rep.RecoverySeconds = time.Since(r.confirmed).Seconds()
	if r.newID, err = c.ClusterID(ctx); err != nil {
		return "", fmt.Errorf("the recovered cluster's ID: %w", err)
	}
	return fmt.Sprintf("%s: %d members %s healthy", r.sc.Recovery.Name(), len(c.Members()), strings.Join(harness.Names(c.Members()), ",")), nil
}

// firstWrite writes through the recovered cluster; its acknowledgement ends
// the recovery time.
func (r *runner) firstWrite(ctx context.Context) (string, error) {
	cli, err := r.outcome.Cluster.Client()
	if err != nil {
		return "", err
	}
	p := harness.Probe{Client: cli, Key: "after-recovery", Attempt: 10 * time.Second}
	if err := p.Once(ctx); err != nil {
		return "", fmt.Errorf("the recovered cluster refused a write: %w", err)
	}
	rto := time.Since(r.effect.At)
	r.rep.RTOSeconds = rto.Seconds()
	r.rep.RecoverySeconds = time.Since(r.confirmed).Seconds()
	return "RTO " + rto.Round(time.Millisecond).String(), nil
}

func (r *runner) verify(ctx context.Context) (string, error) {
	rep, base := r.rep, r.outcome.Baseline
	c := r.outcome.Cluster
	cli, err := c.Client()
	if err != nil {
		return "", err
	}
	// Bounded by the step's deadline, which grows with the keyspace.
	vctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var progress func(done, total int)
	if r.o.Progress != nil {
		progress = func(done, total int) { r.o.Progress("verify", done, total) }
	}
	ks, err := verify.OpenKeyspace(vctx, cli, r.o.Workload.Prefix, r.o.Workload.ValueSize)
	if err != nil {
		return "", err
	}
	rev := ks.Rev
	r.ledgerExpiry(vctx, cli, rev)
	// Nothing writes any more (the writers stopped): free what they knew.
	r.workload.Retire()
	ledger := r.workload.Ledger()
	ops := r.landed(ledger.Ops())
	notKept, afterSnapshot := beyond(ops, base.Revision), beyond(ops, r.snapshot.Revision)
	ops = r.expected(ops)
	// The keyspace is checked page by page as it is read: at a million
	// keys, it is never held whole.
	check := verify.NewStream(ops, base.Revision, r.switched)
	if err := ks.Each(vctx, check.Add, progress); err != nil {
		return "", err
	}
	res := check.Done()
	partial := res.Partial
	rep.Verified = true
	rep.Keys = report.Keys{
		Expected: res.Expected, Restored: res.Restored, Lost: res.Lost, Resurrected: res.Resurrected,
		Indeterminate: res.Indeterminate, Duplicates: res.Duplicates, RevisionMismatch: res.RevisionMismatch,
	}
	rep.RPO.Baseline = base.Why
	rep.RPO.AcknowledgedNotKept = notKept
	if r.snapshot.Revision > 0 {
		rep.RPO.WritesAfterSnapshot = afterSnapshot
	}
	// A delete the workload had acknowledged that deleted nothing, of a key
	// the ledger holds live: the old cluster lost that key before any fault.
	lostEarly := res.LostBeforeFault
	rep.Keys.PartialTxns = countTxns(partial)
	for i, f := range append(append(lostEarly, partial...), res.Findings...) {
		if i == maxFindings {
			break
		}
		rep.Findings = append(rep.Findings, report.Finding(f))
	}
	if len(lostEarly) > 0 {
		rep.Fail("%s: %d acknowledged keys were already gone when the workload deleted them (first %s): the old cluster lost them before the fault",
			verify.KindLostBeforeFault, len(lostEarly), lostEarly[0].Key)
	}
	if res.FromOld == 0 && res.Expected > 0 {
		rep.Fail("%s: the recovered cluster holds none of the workload's keys (%d expected as of %s): the backup did not hold the data", FindingEmptyBackup, res.Expected, base.Why)
	}
	if res.Lost > 0 {
		rep.Fail("%d acknowledged keys lost (expected as of %s)", res.Lost, base.Why)
	}
	if res.Resurrected > 0 {
		rep.Fail("%d keys resurrected that must be absent (as of %s)", res.Resurrected, base.Why)
	}
	if len(partial) > 0 {
		rep.Fail("%s: %d transactions held in part (first %s): a transaction is all or nothing", verify.KindPartialTxn, rep.Keys.PartialTxns, partial[0].Key)
	}
	if res.RevisionMismatch > 0 {
		rep.Fail("%s: %d keys hold their value at other revisions than acknowledged (watchers and resourceVersions would jump)",
			verify.KindRevisionRewritten, res.RevisionMismatch)
	}
	consistent, err := r.verifyCluster(vctx, cli, rev)
	if err != nil {
		return res.Summary(), err
	}
	return res.Summary() + fmt.Sprintf("; hashkv consistent=%v at revision %d", consistent, rev), nil
}

// verifyCluster checks the recovered cluster itself, as of revision rev:
// its members agree, its ID is what the scenario expects, its membership is
// whole, its revision is above the old one where it must be, and it kept
// the compaction made before the backup. It says whether the members agree.
func (r *runner) verifyCluster(ctx context.Context, cli *clientv3.Client, rev int64) (bool, error) {
	rep, c, vctx := r.rep, r.outcome.Cluster, ctx
	hk, err := verify.HashKV(vctx, cli, harness.Endpoints(c.Members()), rev)
	if err != nil {
		return false, err
	}
	newID, err := c.ClusterID(vctx)
	if err != nil {
		return false, err
	}
	rep.Cluster = report.Cluster{
		OldID: strconv.FormatUint(r.oldID, 16), NewID: strconv.FormatUint(newID, 16),
		IDChanged: newID != r.oldID, HashKVConsistent: hk.Consistent, HashKVRevision: rev,
		Members: harness.Names(c.Members()),
	}
	if !hk.Consistent {
		rep.Fail("members disagree on HashKV at revision %d: %v", rev, hk.Hashes)
	}
	if _, err := r.versions(vctx, c); err != nil {
		return false, err
	}
	switch {
	case r.sc.Expect.ClusterID == IDNew && newID == r.oldID:
		rep.Fail("the recovered cluster kept the old cluster ID %016x: it is not a new logical cluster", newID)
	case r.sc.Expect.ClusterID == IDSame && newID != r.oldID:
		rep.Fail("the recovered cluster has a new ID %016x, want the old %016x", newID, r.oldID)
	}
	advertised := map[string]string{}
	for _, m := range c.Members() {
		spec, _ := c.Spec(m.Name())
		advertised[m.Name()] = spec.ClientURL
	}
	if err := verify.Membership(vctx, cli, advertised, r.d.Size); err != nil {
		rep.Fail("%v", err)
	}
	if r.sc.Expect.RevisionAbove {
		if err := r.checkRevisionAbove(vctx, cli, rev); err != nil {
			rep.Fail("%v", err)
		}
	}
	return hk.Consistent, r.checkCompaction(vctx)
}

// checkRevisionAbove: after a restore with a revision bump, the cluster's
// revision is above every revision the old cluster served, and a watch from
// an old revision is cancelled as compacted.
func (r *runner) checkRevisionAbove(ctx context.Context, cli *clientv3.Client, rev int64) error {
	served := r.oldLastRev
	for _, op := range r.landed(r.workload.Ledger().Ops()) {
		if op.Epoch == workload.Old && op.Outcome == workload.Acknowledged {
			served = max(served, op.Revision)
		}
	}
	if rev <= served {
		return fmt.Errorf("the restored cluster is at revision %d, not above the old cluster's %d: clients may see revisions go back", rev, served)
	}
	if err := verify.WatchCompacted(ctx, cli, served); err != nil {
		return err
	}
	r.rep.Cluster.RevisionBumpedFrom = served
	return nil
}

// ledger is the workload's ledger, or nil before there is a workload.
func (r *runner) ledger() *workload.Ledger {
	if r.workload == nil {
		return nil
	}
	return r.workload.Ledger()
}

// expected makes ops as the recovery's baseline says they may be held, in
// place: a write in doubt sent after the backup was taken refused, the old
// cluster's writes above an open baseline in doubt.
func (r *runner) expected(ops []workload.Op) []workload.Op {
	base := r.outcome.Baseline
	if r.sharesAddresses() {
		// A write sent to an old address still in flight when the
		// recovered cluster came up there may be in either.
		ops = verify.EitherCluster(ops, r.effect.At.Add(-r.o.Workload.OpTimeout))
	}
	ops = verify.SentBefore(ops, base.SentBefore)
	if base.Open {
		ops = verify.MayBeKept(ops, base.Revision)
	}
	return ops
}

// sharesAddresses says whether the recovered cluster serves clients on an
// address of the old one.
func (r *runner) sharesAddresses() bool {
	if r.outcome.Cluster == nil {
		return false
	}
	old := map[string]bool{}
	for _, m := range r.cluster.AllMembers() {
		old[m.ClientURL()] = true
	}
	for _, m := range r.outcome.Cluster.Members() {
		if old[m.ClientURL()] {
			return true
		}
	}
	return false
}

// beyond counts the old cluster's acknowledged writes above rev.
func beyond(ops []workload.Op, rev int64) int {
	n := 0
	for _, op := range ops {
		if verify.Beyond(op, rev) {
			n++
		}
	}
	return n
}

// countTxns counts the transactions partial-txn findings name.
func countTxns(fs []verify.Finding) int {
	seen := map[string]bool{}
	for _, f := range fs {
		seen[f.Want] = true
	}
	return len(seen)
}

// restoreOnVersion, for a cross-version restore (RestoreVersion), makes
// every cluster planned from now on run that version, and its etcdutl
// restore the snapshot the old version's etcdctl saved.
func (r *runner) restoreOnVersion() error {
	if r.o.RestoreVersion == "" {
		return nil
	}
	b, err := bins.FindVersion(r.o.BinDir, r.o.RestoreVersion)
	if err != nil {
		return err
	}
	v, err := b.Version()
	if err != nil {
		return err
	}
	from := r.d.Backend.EtcdVersion()
	if r.o.Migrate {
		fb, err := bins.FindVersion(r.o.BinDir, r.o.EtcdVersion)
		if err != nil {
			return err
		}
		r.d.MigrateWith, r.d.MigrateTo = &fb, bins.MinorLine(v)
		r.rep.Note(fmt.Sprintf("operator's workaround applied: etcdutl %s migrate --target-version %s on every restored data dir before it starts (%s)", from, r.d.MigrateTo, fb.Etcdutl))
	}
	r.d.Version, r.d.Tools = v, &b
	r.rep.RestoreVersion = v
	r.rep.Note(fmt.Sprintf("cross-version restore: the snapshot of etcd %s is restored by etcdutl %s and served by etcd %s (%s)", from, v, v, b.Dir))
	return nil
}
