package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
	"github.com/etcd-drill/etcd-drill/recovery"
)

func (r *runner) startCluster(ctx context.Context) (string, error) {
	d := r.d
	c, err := d.StartCluster(ctx, "m", "cluster", d.Token, d.Size)
	if err != nil {
		return "", err
	}
	d.Cluster = c
	if r.oldID, err = c.ClusterID(ctx); err != nil {
		return "", err
	}
	wcfg := r.o.Workload
	wcfg.Seed = r.o.Seed
	if d.Workload, err = workload.New(wcfg, workload.NewLedger()); err != nil {
		return "", err
	}
	r.rep.Workload.Concurrency, r.rep.Workload.ValueSize = wcfg.Concurrency, wcfg.ValueSize
	return fmt.Sprintf("%d members %s, cluster %016x", len(c.Members()), strings.Join(harness.Names(c.Members()), ","), r.oldID), nil
}

func (r *runner) write(ctx context.Context, phase string, n int) (string, error) {
	if n == 0 {
		return "no writes", nil
	}
	cli, err := r.d.Cluster.Client()
	if err != nil {
		return "", err
	}
	var progress func(int)
	if r.o.Progress != nil {
		progress = func(done int) { r.o.Progress(phase, done, n) }
	}
	st, err := r.d.Workload.Run(ctx, cli, n, progress)
	if phase == "workload" {
		r.rep.Workload.BeforeSnapshot = st.Total()
		r.rep.Workload.AckedPerSecond = st.PerSecond()
	} else {
		r.rep.Workload.AfterSnapshot = st.Total()
	}
	r.rep.Workload.Writes += st.Total()
	detail := fmt.Sprintf("%d writes: %d acknowledged, %d failed, %d indeterminate, %.0f acked/s",
		st.Total(), st.Acknowledged, st.Failed, st.Indeterminate, st.PerSecond())
	if err != nil {
		return detail, err
	}
	if st.Acknowledged == 0 {
		return detail, errors.New("no write was acknowledged: the cluster is not taking writes")
	}
	return detail, nil
}

func (r *runner) snapshot(ctx context.Context) (string, error) {
	d := r.d
	m, err := d.Cluster.Leader(ctx)
	if err != nil {
		live := d.Cluster.Live()
		if len(live) == 0 {
			return "", errors.New("no live member to take a snapshot from")
		}
		m = live[0]
	}
	var s harness.Snapshot
	if b, ok := r.sc.Recovery.(recovery.Backuper); ok {
		s, err = b.Backup(ctx, d, m)
	} else {
		s, err = recovery.SaveSnapshot(ctx, d, m)
	}
	if err != nil {
		return "", err
	}
	d.Snapshot = s
	r.rep.Snapshot = report.Snapshot{
		Path: s.Path, Member: s.Member, Revision: s.Revision, SizeBytes: s.Size, TotalKeys: s.Keys, Hash: s.Hash,
	}
	return fmt.Sprintf("revision %d, %d bytes, %d keys, from %s", s.Revision, s.Size, s.Keys, s.Member), nil
}

func (r *runner) inject(ctx context.Context) (string, error) {
	if cli, err := r.d.Cluster.Client(); err == nil {
		gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if resp, err := cli.Get(gctx, harness.ProbePrefix+"revision"); err == nil {
			r.oldLastRev = resp.Header.Revision
		}
		cancel()
	}
	e, err := r.sc.Fault.Inject(ctx, r.d)
	r.d.Effect = e
	r.rep.Fault = &report.Fault{Name: e.Fault, Members: e.Members, At: e.At, Detail: e.Detail}
	return e.Detail, err
}

func (r *runner) confirm(ctx context.Context) (string, error) {
	e := &r.d.Effect
	err := r.sc.Fault.Confirm(ctx, r.d, e)
	r.confirmed = time.Now()
	r.rep.Fault.QuorumLost, r.rep.Fault.Detail = e.QuorumLost, e.Detail
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
	s, err := recovery.CopyDB(ctx, r.d)
	if err != nil {
		return "", err
	}
	r.d.Snapshot = s
	r.rep.Snapshot = report.Snapshot{Path: s.Path, Member: s.Member, Revision: s.Revision, SizeBytes: s.Size, TotalKeys: s.Keys, Hash: s.Hash}
	return fmt.Sprintf("%s/member/snap/db of %s: revision %d, %d bytes, %d keys, no integrity hash", s.Member+".etcd", s.Member, s.Revision, s.Size, s.Keys), nil
}

func (r *runner) recover(ctx context.Context) (string, error) {
	d := r.d
	c, err := r.sc.Recovery.Recover(ctx, d)
	if err != nil {
		return "", err
	}
	r.rep.Snapshot.HashChecked = d.Snapshot.HashChecked
	if c == nil {
		if d.Rejected == nil {
			return "", errors.New("the recovery returned no cluster and no reason")
		}
		return fmt.Sprintf("%s: refused the backup as it must: %v", r.sc.Recovery.Name(), d.Rejected), nil
	}
	d.Recovered = c
	if d.ExpectAt == 0 {
		d.ExpectAt, d.Baseline = d.Snapshot.Revision, fmt.Sprintf("snapshot revision %d", d.Snapshot.Revision)
	}
	return fmt.Sprintf("%s: %d members %s healthy", r.sc.Recovery.Name(), len(c.Members()), strings.Join(harness.Names(c.Members()), ",")), nil
}

// firstWrite writes through the recovered cluster; its acknowledgement ends
// the recovery time.
func (r *runner) firstWrite(ctx context.Context) (string, error) {
	cli, err := r.d.Recovered.Client()
	if err != nil {
		return "", err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Put(wctx, harness.ProbePrefix+"after-recovery", "ok"); err != nil {
		return "", fmt.Errorf("the recovered cluster refused a write: %w", err)
	}
	rto := time.Since(r.d.Effect.At)
	r.rep.RTOSeconds = rto.Seconds()
	r.rep.RecoverySeconds = time.Since(r.confirmed).Seconds()
	return "RTO " + rto.Round(time.Millisecond).String(), nil
}

func (r *runner) verify(ctx context.Context) (string, error) {
	d, rep := r.d, r.rep
	c := d.Recovered
	cli, err := c.Client()
	if err != nil {
		return "", err
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	actual, rev, err := verify.ReadKeyspace(vctx, cli, r.o.Workload.Prefix)
	if err != nil {
		return "", err
	}
	ledger := d.Workload.Ledger()
	res := verify.CheckAt(ledger.Ops(), d.ExpectAt, actual)
	rep.Verified = true
	rep.Keys = report.Keys{
		Expected: res.Expected, Restored: res.Restored, Lost: res.Lost, Resurrected: res.Resurrected,
		Indeterminate: res.Indeterminate, Duplicates: res.Duplicates,
	}
	rep.RPO.Baseline = d.Baseline
	rep.RPO.AcknowledgedNotKept = ledger.AckedAfter(d.ExpectAt)
	if d.Snapshot.Revision > 0 {
		rep.RPO.WritesAfterSnapshot = ledger.AckedAfter(d.Snapshot.Revision)
	}
	for i, f := range res.Findings {
		if i == maxFindings {
			break
		}
		rep.Findings = append(rep.Findings, report.Finding(f))
	}
	if res.Lost > 0 {
		rep.Fail("%d acknowledged keys lost (expected as of %s)", res.Lost, d.Baseline)
	}
	if res.Resurrected > 0 {
		rep.Fail("%d keys resurrected that must be absent (as of %s)", res.Resurrected, d.Baseline)
	}

	hk, err := verify.HashKV(vctx, cli, harness.Endpoints(c.Members()), rev)
	if err != nil {
		return res.Summary(), err
	}
	newID, err := c.ClusterID(vctx)
	if err != nil {
		return res.Summary(), err
	}
	rep.Cluster = report.Cluster{
		OldID: strconv.FormatUint(r.oldID, 16), NewID: strconv.FormatUint(newID, 16),
		IDChanged: newID != r.oldID, HashKVConsistent: hk.Consistent, HashKVRevision: rev,
		Members: harness.Names(c.Members()),
	}
	if !hk.Consistent {
		rep.Fail("members disagree on HashKV at revision %d: %v", rev, hk.Hashes)
	}
	switch {
	case r.sc.Expect.ClusterID == IDNew && newID == r.oldID:
		rep.Fail("the recovered cluster kept the old cluster ID %016x: it is not a new logical cluster", newID)
	case r.sc.Expect.ClusterID == IDSame && newID != r.oldID:
		rep.Fail("the recovered cluster has a new ID %016x, want the old %016x", newID, r.oldID)
	}
	if err := verify.Membership(vctx, cli, harness.Names(c.Members()), d.Size); err != nil {
		rep.Fail("%v", err)
	}
	if r.sc.Expect.RevisionAbove {
		if err := r.checkRevisionAbove(vctx, cli, rev); err != nil {
			rep.Fail("%v", err)
		}
	}
	return res.Summary() + fmt.Sprintf("; hashkv consistent=%v at revision %d", hk.Consistent, rev), nil
}

// checkRevisionAbove: after a restore with a revision bump, the cluster's
// revision is above every revision the old cluster served, and a watch from
// an old revision is cancelled as compacted.
func (r *runner) checkRevisionAbove(ctx context.Context, cli *clientv3.Client, rev int64) error {
	served := r.d.Workload.Ledger().MaxRevision()
	if r.oldLastRev > served {
		served = r.oldLastRev
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
