package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// The leased part of the workload: leaseCount long leases of leaseKeys keys
// each (the first revoked before the backup, the second after it), and one
// short lease of shortTTL seconds kept alive until the fault.
const (
	leaseCount = 3
	leaseKeys  = 3
	shortTTL   = 1
)

// grantLeases grants the leases and revokes the first: a lease revoked
// before the backup is gone after any recovery, with its keys.
func (r *runner) grantLeases(ctx context.Context) (string, error) {
	cli, err := r.cluster.UserClient()
	if err != nil {
		return "", err
	}
	// The keep-alive outlives the step: the drill's context.
	ls, err := r.workload.GrantLeases(ctx, cli, leaseCount, leaseKeys, shortTTL)
	if err != nil {
		return "", err
	}
	r.leases = ls
	out := ls.Revoke(ctx, cli, 0)
	all := ls.All()
	short := all[len(all)-1]
	return fmt.Sprintf("%d leases of %d keys, the first revoked (%s); lease %x of TTL %ds kept alive until the fault",
		leaseCount, leaseKeys, out, short.ID, short.TTL), nil
}

// revokeAfterBackup revokes the second lease after the backup: a restore
// brings it back with its keys.
func (r *runner) revokeAfterBackup(ctx context.Context) string {
	if r.leases == nil {
		return ""
	}
	cli, err := r.cluster.UserClient()
	if err != nil {
		return ""
	}
	return fmt.Sprintf("; lease %x revoked after the backup (%s)", r.leases.All()[1].ID, r.leases.Revoke(ctx, cli, 1))
}

// checkLeases asserts the leases on the recovered cluster: each long one as
// the ledger says it is at the baseline, and the short one, no longer kept
// alive, expired within its TTL and a few elections, its keys gone.
func (r *runner) checkLeases(ctx context.Context) (string, error) {
	if r.leases == nil {
		return "no leases", nil
	}
	cli, err := r.voterClient(ctx)
	if err != nil {
		return "", err
	}
	all := r.leases.All()
	got := map[int64]verify.LeaseState{}
	for _, l := range all[:len(all)-1] {
		st, err := leaseState(ctx, cli, l.ID)
		if err != nil {
			return "", err
		}
		got[l.ID] = st
	}
	short := all[len(all)-1]
	wait := time.Duration(short.TTL)*time.Second + 10*r.o.Timing.Election + 2*time.Second
	began := time.Now()
	took, expErr := expired(ctx, cli, short, wait)
	if expErr == nil && !r.expiryLedgered {
		// The expiry deleted the keys at a revision no client was told:
		// their delete events tell it.
		rev, err := r.deletedAt(ctx, short)
		if err != nil {
			r.rep.Note(fmt.Sprintf("the revision lease %x's expiry deleted its keys at is not known (%v): they count as deleted in doubt", short.ID, err))
		}
		r.ledgerExpired(short, rev, began)
	}
	base := r.outcome.Baseline
	findings := verify.CheckLeases(all, r.expected(r.landed(r.ledger().Ops())), base.Revision, got)
	if expErr != nil {
		if ctx.Err() != nil {
			return "", expErr
		}
		findings = append(findings, verify.Finding{Key: fmt.Sprintf("lease %x", short.ID), Kind: verify.KindLeaseNotExpired,
			Want: fmt.Sprintf("expired within %v of the recovery (TTL %ds, no keep-alive since the fault)", wait.Round(time.Second), short.TTL), Got: expErr.Error()})
	}
	for _, f := range findings {
		r.rep.Findings = append(r.rep.Findings, report.Finding(f))
		r.rep.Fail("%s: %s: want %s, got %s", f.Kind, f.Key, f.Want, f.Got)
	}
	r.rep.Leases = &report.Leases{Leases: len(all), Findings: len(findings), ShortExpiredSeconds: took.Seconds()}
	return fmt.Sprintf("%d long leases as the ledger says at %s; lease %x expired %v after the check began, its keys gone; %d findings",
		len(all)-1, base.Why, short.ID, took.Round(time.Millisecond), len(findings)), nil
}

// ledgerExpiry ledgers the short lease's expiry if it came before the
// keyspace is read at rev: none of its keys is there, and their delete
// events say when. Keys gone without such an event stay unexplained.
func (r *runner) ledgerExpiry(ctx context.Context, cli *clientv3.Client, rev int64) {
	if r.leases == nil {
		return
	}
	all := r.leases.All()
	short := all[len(all)-1]
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, k := range short.Keys {
		resp, err := cli.Get(wctx, k, clientv3.WithRev(rev), clientv3.WithCountOnly())
		if err != nil || resp.Count > 0 {
			return
		}
	}
	at, err := r.deletedAt(wctx, short)
	switch {
	case err != nil:
		// Gone, with its lease not kept alive since the fault, but when
		// cannot be read back (below a compaction, a revision bump's
		// included): its deletes are in doubt, not its keys lost.
		r.rep.Note(fmt.Sprintf("lease %x expired before the verify, at a revision not known (%v): its keys' deletes count as in doubt", short.ID, err))
		r.ledgerExpired(short, 0, time.Now())
	case at <= rev:
		r.ledgerExpired(short, at, time.Now())
	}
}

// ledgerExpired ledgers the short lease's expiry at revision at (0: not
// known, deletes in doubt). At or below the old cluster's last revision it
// happened there, before the fault: its keep-alive did not keep up with a
// loaded cluster (etcd's lessor revokes a lease its holder did not renew
// in time). That is no loss, and is noted.
func (r *runner) ledgerExpired(short workload.Lease, at int64, seen time.Time) {
	epoch, cluster := workload.Recovered, r.newID
	if at > 0 && at < r.expiryFrom() {
		epoch, cluster = workload.Old, r.oldID
		r.rep.Note(fmt.Sprintf("lease %x (TTL %ds) expired on the old cluster at revision %d, before the fault: its keep-alive did not keep up", short.ID, short.TTL, at))
	}
	r.leases.Expired(epoch, cluster, at, seen)
	r.expiryLedgered = true
}

// leaseState reads a lease and its keys.
func leaseState(ctx context.Context, cli *clientv3.Client, id int64) (verify.LeaseState, error) {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := cli.TimeToLive(lctx, clientv3.LeaseID(id), clientv3.WithAttachedKeys())
	if err != nil {
		return verify.LeaseState{}, fmt.Errorf("read lease %x: %w", id, err)
	}
	st := verify.LeaseState{Exists: resp.TTL > 0}
	for _, k := range resp.Keys {
		st.Keys = append(st.Keys, string(k))
	}
	return st, nil
}

// expired waits, up to wait, until l no longer exists and none of its keys
// does; it says how long that took.
func expired(ctx context.Context, cli *clientv3.Client, l workload.Lease, wait time.Duration) (time.Duration, error) {
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("not looked at")
	for {
		st, err := leaseState(wctx, cli, l.ID)
		switch {
		case err != nil && wctx.Err() != nil:
			// The last answer tells more than the end of the wait.
		case err != nil:
			last = err
		case st.Exists:
			last = fmt.Errorf("alive, keys %v", st.Keys)
		default:
			left, err := keysLeft(wctx, cli, l.Keys)
			if err == nil && len(left) == 0 {
				return time.Since(start), nil
			}
			last = fmt.Errorf("gone, but its keys %v are still there (%v)", left, err)
		}
		select {
		case <-wctx.Done():
			return time.Since(start), fmt.Errorf("after %v: %w", time.Since(start).Round(time.Millisecond), last)
		case <-tick.C:
		}
	}
}

func keysLeft(ctx context.Context, cli *clientv3.Client, keys []string) ([]string, error) {
	var left []string
	for _, k := range keys {
		resp, err := cli.Get(ctx, k, clientv3.WithCountOnly())
		if err != nil {
			return nil, err
		}
		if resp.Count > 0 {
			left = append(left, k)
		}
	}
	return left, nil
}

// expiryFrom is a revision before the short lease can have expired: its
// keep-alive stopped at the fault; a restore starts at its backup's
// revision.
func (r *runner) expiryFrom() int64 {
	from := r.oldLastRev
	if s := r.snapshot.Revision; s > 0 && (from == 0 || s < from) {
		from = s
	}
	if b := r.outcome.Baseline.Revision; b != harness.AllWrites && b < from {
		from = b
	}
	return from + 1
}

// voterClient is a client of one member of the recovered cluster that is
// not a learner: a learner serves no lease request or watch.
func (r *runner) voterClient(ctx context.Context) (*clientv3.Client, error) {
	for _, m := range r.outcome.Cluster.Members() {
		cli, err := r.outcome.Cluster.Client(m)
		if err != nil {
			return nil, err
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := cli.Status(sctx, m.ClientURL())
		cancel()
		if err == nil && !st.IsLearner {
			return cli, nil
		}
	}
	return nil, fmt.Errorf("no member of %s that is not a learner answers", strings.Join(harness.Names(r.outcome.Cluster.Members()), ","))
}

// deletedAt reads when the short lease's keys were deleted: after their
// last put if the ledger knows it (the lease may have expired before the
// fault, if its keep-alive fell behind), else after expiryFrom.
func (r *runner) deletedAt(ctx context.Context, short workload.Lease) (int64, error) {
	cli, err := r.voterClient(ctx)
	if err != nil {
		return 0, err
	}
	from := r.expiryFrom()
	if short.Put > 0 {
		from = short.Put + 1
	}
	if c := r.rep.Compaction; c != nil && from <= c.Revision {
		// Below the compaction nothing can be read: the search starts
		// there (the lease lived until the fault, after the compaction).
		from = c.Revision + 1
	}
	return deletedAt(ctx, cli, short.Keys, from)
}

// deletedAt finds the one revision keys were all deleted at (a lease's
// expiry deletes its keys in one transaction), from revision from on, by
// reading them at past revisions: all present at from-1, none at the
// store's revision, and a binary search between. Reads, unlike a watch
// from a past revision, answer as fast on a loaded cluster of a million
// keys (a watch there gave no event within 5 s, at 1M keys on the process
// backend).
func deletedAt(ctx context.Context, cli *clientv3.Client, keys []string, from int64) (int64, error) {
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	present := func(rev int64) (int, int64, error) {
		n, cur := 0, int64(0)
		for _, k := range keys {
			opts := []clientv3.OpOption{clientv3.WithCountOnly()}
			if rev > 0 {
				opts = append(opts, clientv3.WithRev(rev))
			}
			resp, err := cli.Get(wctx, k, opts...)
			if err != nil {
				return 0, 0, fmt.Errorf("read %s at revision %d: %w", k, rev, err)
			}
			n += int(resp.Count)
			cur = resp.Header.Revision
		}
		return n, cur, nil
	}
	n, cur, err := present(0)
	if err != nil {
		return 0, err
	}
	if n != 0 {
		return 0, fmt.Errorf("%d of its %d keys are still there at revision %d", n, len(keys), cur)
	}
	lo, hi := from-1, cur // all present at lo, none at hi
	if n, _, err = present(lo); err != nil {
		return 0, err
	}
	if n != len(keys) {
		return 0, fmt.Errorf("%d of its %d keys were there at revision %d, before it could expire", n, len(keys), lo)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if n, _, err = present(mid); err != nil {
			return 0, err
		}
		switch n {
		case len(keys):
			lo = mid
		case 0:
			hi = mid
		default:
			return 0, fmt.Errorf("%d of its %d keys were there at revision %d: they were not deleted at one revision", n, len(keys), mid)
		}
	}
	return hi, nil
}
