package workload

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Lease is one lease the workload granted, and what became of it.
type Lease struct {
	ID int64
	// TTL is what etcd granted, in seconds (it raises a TTL below its
	// minimum).
	TTL int64
	// Keys were put attached to it (their puts are in the ledger).
	Keys []string
	// Short: kept alive until the fault only, it must expire after the
	// recovery, deleting its keys.
	Short bool
	// Put is the revision of its keys' last acknowledged put (0: none
	// was): they all exist from there on, until the lease ends.
	Put int64
	// Revoke is the outcome of its revocation (0: not revoked); a revoke
	// deletes every key of the lease at one revision, and is in the ledger
	// as a delete of each.
	Revoke Outcome
}

// Revoked says whether the lease was acknowledged revoked at or below rev.
func (l Lease) Revoked(rev int64, ops []Op) bool {
	return l.Revoke == Acknowledged && l.revokedAt(ops) <= rev
}

// revokedAt is the revision of the lease's acknowledged revoke in ops.
func (l Lease) revokedAt(ops []Op) int64 {
	for _, op := range ops {
		if op.Lease == l.ID && op.Kind == Delete && op.Outcome == Acknowledged {
			return op.Revision
		}
	}
	return 0
}

// Leases is the leased part of the workload: a few leases with keys
// attached, one of them short-lived and kept alive until told to stop. Its
// writes go to the ledger as those of one more writer.
type Leases struct {
	w      *Workload
	wr     *writer
	mu     sync.Mutex
	leases []Lease
	stop   context.CancelFunc
	done   chan struct{}
}

// GrantLeases grants n long leases and one short one (TTL shortTTL
// seconds), puts keysEach keys attached to each, and keeps the short one
// alive until StopKeepAlive.
func (w *Workload) GrantLeases(ctx context.Context, cli *clientv3.Client, n, keysEach int, shortTTL int64) (*Leases, error) {
	ls := &Leases{w: w, wr: &writer{id: len(w.writers), live: map[string]bool{}}, done: make(chan struct{})}
	for i := range n + 1 {
		short := i == n
		ttl := int64(3600)
		if short {
			ttl = shortTTL
		}
		gctx, cancel := context.WithTimeout(ctx, w.cfg.OpTimeout)
		resp, err := cli.Grant(gctx, ttl)
		cancel()
		if err != nil {
			ls.StopKeepAlive()
			return nil, fmt.Errorf("grant lease %d of %d: %w", i+1, n+1, err)
		}
		l := Lease{ID: int64(resp.ID), TTL: resp.TTL, Short: short}
		for k := range keysEach {
			key := w.cfg.Prefix + "w" + strconv.Itoa(ls.wr.id) + "/lease" + strconv.Itoa(i) + "/k" + strconv.Itoa(k)
			ls.wr.seq++
			op := Op{Writer: ls.wr.id, Seq: ls.wr.seq, Kind: Put, Key: key, Value: value(w.cfg.Run, ls.wr.id, ls.wr.seq, w.cfg.ValueSize), Lease: l.ID}
			ops := []Op{op}
			w.sendLedgered(ctx, cli, ops)
			if ops[0].Outcome == Acknowledged {
				l.Put = max(l.Put, ops[0].Revision)
			}
			l.Keys = append(l.Keys, key)
		}
		ls.leases = append(ls.leases, l)
	}
	kctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	ls.stop = stop
	ch, err := cli.KeepAlive(kctx, clientv3.LeaseID(ls.leases[n].ID))
	if err != nil {
		stop()
		return nil, fmt.Errorf("keep lease %x alive: %w", ls.leases[n].ID, err)
	}
	go func() {
		defer close(ls.done)
		for range ch {
		}
	}()
	return ls, nil
}

// StopKeepAlive stops keeping the short lease alive, as its holder dies.
func (ls *Leases) StopKeepAlive() {
	if ls.stop != nil {
		ls.stop()
		<-ls.done
		ls.stop = nil
	}
}

// Revoke revokes the i-th lease, ledgering a delete of each of its keys.
func (ls *Leases) Revoke(ctx context.Context, cli *clientv3.Client, i int) Outcome {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := &ls.leases[i]
	ls.wr.seq++
	ops := make([]Op, len(l.Keys))
	for j, k := range l.Keys {
		ops[j] = Op{Writer: ls.wr.id, Seq: ls.wr.seq, Kind: Delete, Key: k, Lease: l.ID}
	}
	octx, cancel := context.WithTimeout(ctx, ls.w.cfg.OpTimeout)
	defer cancel()
	sent := time.Now()
	resp, err := cli.Revoke(octx, clientv3.LeaseID(l.ID))
	outcome, msg := Classify(err)
	for _, op := range ops {
		op.Outcome, op.Err, op.Sent = outcome, msg, sent
		if outcome != Indeterminate {
			op.Done = time.Now()
		}
		if outcome == Acknowledged {
			op.Revision, op.Deleted, op.Cluster = resp.Header.Revision, 1, resp.Header.ClusterId
		}
		ls.w.ledger.Record(op)
	}
	l.Revoke = outcome
	return outcome
}

// Expired ledgers the deletes of the short lease's keys by its expiry:
// seen by the drill in epoch e, answered by cluster at revision rev (its
// keys' delete events), or, with rev 0, at a revision no one saw: deletes
// in doubt.
func (ls *Leases) Expired(e Epoch, cluster uint64, rev int64, from time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.leases[len(ls.leases)-1]
	ls.wr.seq++
	for _, k := range l.Keys {
		op := Op{Writer: ls.wr.id, Seq: ls.wr.seq, Kind: Delete, Key: k, Lease: l.ID, Outcome: Indeterminate, Err: "deleted by the lease's expiry", Sent: from, Epoch: e}
		if rev > 0 {
			op.Outcome, op.Revision, op.Deleted, op.Cluster, op.Done = Acknowledged, rev, 1, cluster, time.Now()
		}
		ls.w.ledger.Record(op)
	}
}

// All returns every lease, the short one last.
func (ls *Leases) All() []Lease {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return append([]Lease(nil), ls.leases...)
}

// sendLedgered sends ops as one write and ledgers them with their outcome.
func (w *Workload) sendLedgered(ctx context.Context, cli *clientv3.Client, ops []Op) {
	sent := time.Now()
	cluster := w.send(ctx, cli, ops)
	for _, op := range ops {
		op.Sent, op.Cluster = sent, cluster
		if op.Outcome != Indeterminate {
			op.Done = time.Now()
		}
		w.ledger.Record(op)
	}
}
