package workload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Traffic is the workload's writers running on their own until stopped, as
// an application's clients do: through the backup, the fault and the
// recovery. A writer whose write was not acknowledged backs off a little
// before its next, as a client's retry loop does, so that a dead cluster
// does not fill the ledger.
type Traffic struct {
	w      *Workload
	target atomic.Pointer[target]
	stop   context.CancelFunc
	done   chan struct{}
	start  time.Time
	t      tally
	// every is the time between two writes at the rate asked (0: as fast
	// as the cluster goes); next is when the next write may be sent, in
	// nanoseconds since start.
	every time.Duration
	next  atomic.Int64
	// sent is, for each writer, when its write in flight was sent, in
	// nanoseconds since start (0: none in flight).
	sent []atomic.Int64
}

// target is where writers send: a client, the epoch it stands for, and a
// context that ends when they are pointed elsewhere.
type target struct {
	cli    *clientv3.Client
	epoch  Epoch
	ctx    context.Context
	cancel context.CancelFunc
}

// Backoff bounds the pause of a writer after a write without an
// acknowledgement: it doubles from a tenth of it with each one in a row.
const Backoff = 400 * time.Millisecond

// Start sets every writer going through cli, as epoch Old, until Stop or
// the end of ctx, at rate writes a second in all (0: as fast as the cluster
// takes them).
func (w *Workload) Start(ctx context.Context, cli *clientv3.Client, rate int) *Traffic {
	tctx, stop := context.WithCancel(ctx)
	tr := &Traffic{w: w, stop: stop, done: make(chan struct{}), start: time.Now(), sent: make([]atomic.Int64, len(w.writers))}
	if rate > 0 {
		tr.every = time.Second / time.Duration(rate)
	}
	tr.Point(cli, Old)
	var wg sync.WaitGroup
	for i, wr := range w.writers {
		wg.Go(func() { tr.writer(tctx, wr, &tr.sent[i]) })
	}
	go func() { wg.Wait(); close(tr.done) }()
	return tr
}

func (tr *Traffic) writer(ctx context.Context, wr *writer, sent *atomic.Int64) {
	misses := 0
	for ctx.Err() == nil {
		k := wr.nextSize(tr.w.cfg)
		if !tr.pace(ctx, k) {
			return
		}
		tg := tr.target.Load()
		// A write sent to a target that is then replaced ends at once, as
		// its answer would never be read: no answer, indeterminate.
		wctx, cancel := mergeCancel(ctx, tg.ctx)
		sent.Store(max(int64(time.Since(tr.start)), 1))
		ops := tr.w.turn(wctx, tg.cli, tg.epoch, wr, k, &tr.t)
		sent.Store(0)
		cancel()
		if ops[0].Outcome == Acknowledged {
			misses = 0
			continue
		}
		misses++
		pause := min(Backoff/10<<min(misses-1, 4), Backoff)
		select {
		case <-ctx.Done():
		case <-tg.ctx.Done():
		case <-time.After(pause):
		}
	}
}

// pace waits for the slot of a write of k puts at the traffic's rate; it
// says false if ctx ended first.
func (tr *Traffic) pace(ctx context.Context, k int) bool {
	if tr.every == 0 {
		return true
	}
	d := int64(tr.every) * int64(k)
	now := int64(time.Since(tr.start))
	// Slots not taken while writers waited on a dead cluster are not
	// saved up: the rate does not burst when it comes back.
	slot := tr.next.Add(d) - d
	if slot < now-int64(time.Second) {
		tr.next.Store(now + d)
		slot = now
	}
	if wait := time.Duration(slot - now); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// mergeCancel is ctx, also cancelled when other ends.
func mergeCancel(ctx, other context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(other, cancel)
	return c, func() { stop(); cancel() }
}

// Point moves every writer to cli, as epoch e: writes in flight to the
// cluster before end without an answer.
func (tr *Traffic) Point(cli *clientv3.Client, e Epoch) {
	ctx, cancel := context.WithCancel(context.Background())
	if old := tr.target.Swap(&target{cli: cli, epoch: e, ctx: ctx, cancel: cancel}); old != nil {
		old.cancel()
	}
}

// Acked is how many writes of epoch e were acknowledged so far.
func (tr *Traffic) Acked(e Epoch) int { return int(tr.t.outcomes[e][Acknowledged].Load()) }

// Written is how many writes of every epoch have an outcome so far.
func (tr *Traffic) Written() int { return tr.t.stats(0).Total() }

// WaitAcked waits until n writes of epoch e have been acknowledged, looking
// every few milliseconds, until ctx ends.
func (tr *Traffic) WaitAcked(ctx context.Context, e Epoch, n int) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for tr.Acked(e) < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d writes acknowledged by the %s cluster: %w", tr.Acked(e), n, e, context.Cause(ctx))
		case <-tr.done:
			return errors.New("the traffic stopped")
		case <-tick.C:
		}
	}
	return nil
}

// Settle waits until no write sent before t is still without an outcome in
// the ledger, until ctx ends. A keyspace read at a revision, then Settle
// from the time of the read: every write that revision holds is in the
// ledger, acknowledged or in doubt, while the writers go on.
func (tr *Traffic) Settle(ctx context.Context, t time.Time) error {
	since := int64(t.Sub(tr.start))
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		busy := 0
		for i := range tr.sent {
			if s := tr.sent[i].Load(); s != 0 && s <= since {
				busy++
			}
		}
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d writes sent before %s still without an answer: %w", busy, t.Format(time.TimeOnly), context.Cause(ctx))
		case <-tr.done:
			return nil
		case <-tick.C:
		}
	}
}

// Stop stops every writer, waits until each write sent has an outcome in
// the ledger, and sums up the traffic. It may be called more than once.
func (tr *Traffic) Stop() Stats {
	tr.stop()
	<-tr.done
	tr.target.Load().cancel()
	return tr.t.stats(time.Since(tr.start))
}
