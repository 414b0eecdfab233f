package workload

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestTrafficMovesToTheRecoveredCluster: writers run on their own through
// one cluster, then, pointed at another, go on there; each write says which
// cluster it was sent to and which answered, and the rate holds.
func TestTrafficMovesToTheRecoveredCluster(t *testing.T) {
	oldCli, newCli := startEtcd(t, nil), startEtcd(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := map[Epoch]uint64{}
	for e, cli := range []*clientv3.Client{oldCli, newCli} {
		resp, err := cli.Get(ctx, "x")
		if err != nil {
			t.Fatal(err)
		}
		ids[Epoch(e)] = resp.Header.ClusterId
	}
	cfg := DefaultConfig()
	cfg.Concurrency, cfg.Run = 8, "traffic"
	w, err := New(cfg, NewLedger())
	if err != nil {
		t.Fatal(err)
	}
	const rate = 2000
	tr := w.Start(ctx, oldCli, rate)
	if err := tr.WaitAcked(ctx, Old, 200); err != nil {
		t.Fatal(err)
	}
	tr.Point(newCli, Recovered)
	if err := tr.WaitAcked(ctx, Recovered, 200); err != nil {
		t.Fatal(err)
	}
	st := tr.Stop()
	if again := tr.Stop(); again.Total() != st.Total() {
		t.Fatalf("a second Stop counts %d writes, the first %d", again.Total(), st.Total())
	}
	ops := w.Ledger().Ops()
	if len(ops) != st.Total() {
		t.Fatalf("ledger holds %d writes, the traffic counted %d", len(ops), st.Total())
	}
	per := map[Epoch]int{}
	for _, op := range ops {
		if op.Outcome != Acknowledged {
			continue
		}
		per[op.Epoch]++
		if op.Cluster != ids[op.Epoch] {
			t.Fatalf("write %+v sent to the %s cluster was answered by %x, want %x", op, op.Epoch, op.Cluster, ids[op.Epoch])
		}
	}
	if per[Old] < 200 || per[Recovered] < 200 {
		t.Fatalf("acknowledged per cluster %v: want 200 or more each", per)
	}
	// At 2,000 writes a second, with a second's slack for the start.
	if max := int(st.Elapsed.Seconds()*rate) + rate; st.Total() > max {
		t.Fatalf("%d writes in %v: more than the rate of %d/s allows", st.Total(), st.Elapsed, rate)
	}
}

// TestSettleWaitsForWritesSentBefore: a write sent before the time asked
// holds Settle until it has its outcome; one sent after does not.
func TestSettleWaitsForWritesSentBefore(t *testing.T) {
	tr := &Traffic{start: time.Now().Add(-time.Second), sent: make([]atomic.Int64, 2), done: make(chan struct{})}
	at := time.Now()
	tr.sent[0].Store(int64(at.Sub(tr.start)) - 1) // sent before at, in flight
	tr.sent[1].Store(int64(at.Sub(tr.start)) + 1) // sent after at
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tr.Settle(ctx, at); err == nil || !strings.Contains(err.Error(), "1 writes sent before") {
		t.Fatalf("Settle with a write in flight since before: %v, want it to wait past the deadline", err)
	}
	go func() { time.Sleep(20 * time.Millisecond); tr.sent[0].Store(0) }()
	if err := tr.Settle(context.Background(), at); err != nil {
		t.Fatalf("Settle once the write has its outcome: %v", err)
	}
}
