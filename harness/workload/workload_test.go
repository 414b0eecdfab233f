package workload

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/etcd-drill/etcd-drill/harness/etcdtest"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Outcome
	}{
		{"nil", nil, Acknowledged},
		{"InvalidArgument", status.Error(codes.InvalidArgument, "bad"), Failed},
		{"FailedPrecondition", status.Error(codes.FailedPrecondition, "no"), Failed},
		{"ResourceExhausted", status.Error(codes.ResourceExhausted, "full"), Failed},
		{"wrapped InvalidArgument", fmt.Errorf("put: %w", status.Error(codes.InvalidArgument, "bad")), Failed},
		{"Unavailable", status.Error(codes.Unavailable, "connection refused"), Indeterminate},
		{"DeadlineExceeded status", status.Error(codes.DeadlineExceeded, "too slow"), Indeterminate},
		{"context.DeadlineExceeded", context.DeadlineExceeded, Indeterminate},
		{"context.Canceled", context.Canceled, Indeterminate},
		{"Unknown status", status.Error(codes.Unknown, "?"), Indeterminate},
		{"plain error", errors.New("something broke"), Indeterminate},
		// clientv3 hands etcd's own errors back as rpctypes.EtcdError (see
		// clientv3.ContextError), not as gRPC status errors: what Put returns
		// is rpctypes.Error of what the server sent.
		{"etcd request too large, as clientv3 returns it", rpctypes.Error(rpctypes.ErrGRPCRequestTooLarge), Failed},
		{"etcd no space, as clientv3 returns it", rpctypes.Error(rpctypes.ErrGRPCNoSpace), Failed},
		{"etcd too many requests, as clientv3 returns it", rpctypes.Error(rpctypes.ErrGRPCRequestTooManyRequests), Failed},
		{"etcd request timed out, as clientv3 returns it", rpctypes.Error(rpctypes.ErrGRPCTimeout), Indeterminate},
		{"etcd no leader, as clientv3 returns it", rpctypes.Error(rpctypes.ErrGRPCNoLeader), Indeterminate},
		{"etcd leader changed, as clientv3 returns it", rpctypes.Error(rpctypes.ErrGRPCLeaderChanged), Indeterminate},
		{"etcd connection lost, as clientv3 returns it", rpctypes.Error(rpctypes.ErrGRPCTimeoutDueToConnectionLost), Indeterminate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, msg := Classify(tc.err)
			if got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
			wantMsg := ""
			if tc.err != nil {
				wantMsg = tc.err.Error()
			}
			if msg != wantMsg {
				t.Errorf("Classify(%v) message = %q, want %q", tc.err, msg, wantMsg)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	for _, tc := range []struct {
		name  string
		tweak func(*Config)
		bad   bool
	}{
		{"default", func(*Config) {}, false},
		{"empty prefix", func(c *Config) { c.Prefix = "" }, true},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, true},
		{"negative concurrency", func(c *Config) { c.Concurrency = -3 }, true},
		{"concurrency 1", func(c *Config) { c.Concurrency = 1 }, false},
		{"zero value size", func(c *Config) { c.ValueSize = 0 }, true},
		{"value size 1", func(c *Config) { c.ValueSize = 1 }, false},
		{"negative delete ratio", func(c *Config) { c.DeleteRatio = -0.1 }, true},
		{"negative overwrite ratio", func(c *Config) { c.OverwriteRatio = -0.1 }, true},
		{"ratios sum above 1", func(c *Config) { c.DeleteRatio, c.OverwriteRatio = 0.6, 0.5 }, true},
		{"delete ratio above 1", func(c *Config) { c.DeleteRatio, c.OverwriteRatio = 1.5, 0 }, true},
		{"ratios sum exactly 1", func(c *Config) { c.DeleteRatio, c.OverwriteRatio = 0.25, 0.75 }, false},
		{"ratios zero", func(c *Config) { c.DeleteRatio, c.OverwriteRatio = 0, 0 }, false},
		{"NaN delete ratio", func(c *Config) { c.DeleteRatio = math.NaN() }, true},
		{"NaN overwrite ratio", func(c *Config) { c.OverwriteRatio = math.NaN() }, true},
		{"infinite overwrite ratio", func(c *Config) { c.OverwriteRatio = math.Inf(1) }, true},
		{"zero op timeout", func(c *Config) { c.OpTimeout = 0 }, true},
		{"negative op timeout", func(c *Config) { c.OpTimeout = -time.Second }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.tweak(&c)
			err := c.Validate()
			if tc.bad && err == nil {
				t.Errorf("Validate() accepted %+v", c)
			}
			if !tc.bad && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			// New must refuse exactly what Validate refuses.
			w, nerr := New(c, NewLedger())
			if tc.bad && (nerr == nil || w != nil) {
				t.Errorf("New accepted a bad config (workload %t, err %v)", w != nil, nerr)
			}
			if !tc.bad && nerr != nil {
				t.Errorf("New = %v", nerr)
			}
		})
	}
}

// outcomeFor decides, the same way every time, how a simulated write ends.
func outcomeFor(op Op) Outcome {
	switch {
	case op.Seq%7 == 0:
		return Indeterminate
	case op.Seq%11 == 0:
		return Failed
	}
	return Acknowledged
}

// simulate has each writer pick n writes with next and settle them by
// outcomeFor, without a cluster. writerMajor says whether each writer does
// all its writes before the next starts, or the writers take turns: the
// choices of one writer must not depend on how the writers interleave.
func simulate(t *testing.T, cfg Config, n int, writerMajor bool) map[int][]Op {
	t.Helper()
	w, err := New(cfg, NewLedger())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]Op{}
	var rev int64 = 1
	step := func(wr *writer) {
		op := wr.next(cfg)
		op.Outcome = outcomeFor(op)
		if op.Outcome == Acknowledged {
			rev++
			op.Revision = rev
		}
		wr.settle(op)
		// Revisions differ between interleavings; the choices must not.
		op.Revision = 0
		out[wr.id] = append(out[wr.id], op)
	}
	if writerMajor {
		for _, wr := range w.writers {
			for range n {
				step(wr)
			}
		}
	} else {
		for range n {
			for i := len(w.writers) - 1; i >= 0; i-- {
				step(w.writers[i])
			}
		}
	}
	return out
}

func testConfig() Config {
	c := DefaultConfig()
	c.Concurrency = 4
	c.DeleteRatio = 0.2
	c.OverwriteRatio = 0.3
	c.Seed = 42
	return c
}

func TestWriterChoicesAreDeterministicBySeed(t *testing.T) {
	cfg := testConfig()
	a := simulate(t, cfg, 500, true)
	b := simulate(t, cfg, 500, false)
	if len(a) != cfg.Concurrency || len(b) != cfg.Concurrency {
		t.Fatalf("got %d and %d writers, want %d", len(a), len(b), cfg.Concurrency)
	}
	for id := range cfg.Concurrency {
		if len(a[id]) != 500 {
			t.Fatalf("writer %d made %d writes, want 500", id, len(a[id]))
		}
		if i := firstDiff(a[id], b[id]); i >= 0 {
			t.Errorf("writer %d: same seed, different write %d: %+v vs %+v", id, i, a[id][i], b[id][i])
		}
	}

	// Another seed makes other choices (the seed is really used).
	other := cfg
	other.Seed = 43
	c := simulate(t, other, 500, true)
	for id := range cfg.Concurrency {
		if firstDiff(a[id], c[id]) < 0 {
			t.Errorf("writer %d: seeds 42 and 43 made the very same 500 writes", id)
		}
	}
	// Writers with one seed do not all make the same choices either.
	kinds := func(ops []Op) string {
		var b strings.Builder
		for _, op := range ops {
			fmt.Fprintf(&b, "%d:%s;", op.Kind, strings.TrimPrefix(op.Key, cfg.Prefix+"w"+strconv.Itoa(op.Writer)))
		}
		return b.String()
	}
	if kinds(a[0]) == kinds(a[1]) {
		t.Error("writers 0 and 1 made the same sequence of choices")
	}
}

func firstDiff(a, b []Op) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// The choices keep the workload's promises: a writer writes only its own
// keys, deletes only a key whose last acknowledged write was a put,
// overwrites only a key it wrote before, and creates keys in order.
func TestWriterChoicesKeepTheirPromises(t *testing.T) {
	cfg := testConfig()
	const n = 5000
	ops := simulate(t, cfg, n, true)
	for id, wops := range ops {
		own := cfg.Prefix + "w" + strconv.Itoa(id) + "/k"
		live := map[string]bool{}
		created := map[string]bool{}
		var deletes, overwrites, creates int
		for i, op := range wops {
			if op.Writer != id || op.Seq != i+1 {
				t.Fatalf("writer %d op %d: Writer %d Seq %d", id, i, op.Writer, op.Seq)
			}
			if !strings.HasPrefix(op.Key, own) {
				t.Fatalf("writer %d wrote %q, not under %q", id, op.Key, own)
			}
			switch {
			case op.Kind == Delete:
				deletes++
				if !live[op.Key] {
					t.Errorf("writer %d seq %d deletes %q, which is not live", id, op.Seq, op.Key)
				}
				if op.Value != "" {
					t.Errorf("delete with a value %q", op.Value)
				}
			case op.Kind == Put && created[op.Key]:
				overwrites++
			case op.Kind == Put:
				if want := own + strconv.Itoa(creates); op.Key != want {
					t.Errorf("writer %d seq %d creates %q, want %q", id, op.Seq, op.Key, want)
				}
				creates++
				created[op.Key] = true
			default:
				t.Fatalf("op of kind %v", op.Kind)
			}
			if op.Outcome == Acknowledged {
				live[op.Key] = op.Kind == Put
			}
		}
		// Deletes need a live key, so they fall a little short of their share.
		for _, c := range []struct {
			what      string
			got       int
			low, high float64
		}{
			{"deletes", deletes, 0.15, 0.21},
			{"overwrites", overwrites, 0.27, 0.36},
			{"new keys", creates, 0.47, 0.55},
		} {
			if f := float64(c.got) / n; f < c.low || f > c.high {
				t.Errorf("writer %d: %d %s of %d writes (%.3f), want a share in [%.2f, %.2f]", id, c.got, c.what, n, f, c.low, c.high)
			}
		}
	}
}

// With no ratios every write is a put to a new key; with only overwrites
// every write after the first goes to the one key.
func TestWriterChoicesAtTheRatioExtremes(t *testing.T) {
	cfg := testConfig()
	cfg.DeleteRatio, cfg.OverwriteRatio = 0, 0
	for id, wops := range simulate(t, cfg, 200, true) {
		for i, op := range wops {
			if want := cfg.Prefix + "w" + strconv.Itoa(id) + "/k" + strconv.Itoa(i); op.Kind != Put || op.Key != want {
				t.Fatalf("no ratios: writer %d write %d is %v %q, want put %q", id, i, op.Kind, op.Key, want)
			}
		}
	}
	cfg.OverwriteRatio = 1
	for id, wops := range simulate(t, cfg, 200, true) {
		for i, op := range wops {
			if want := cfg.Prefix + "w" + strconv.Itoa(id) + "/k0"; op.Kind != Put || op.Key != want {
				t.Fatalf("overwrite only: writer %d write %d is %v %q, want put %q", id, i, op.Kind, op.Key, want)
			}
		}
	}
}

// settle: only an acknowledged put makes a key live, and only an
// acknowledged delete makes it dead; a write without an answer changes
// nothing the writer believes.
func TestSettle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Concurrency = 1
	cfg.DeleteRatio, cfg.OverwriteRatio = 1, 0 // delete whenever a key is live
	w, err := New(cfg, NewLedger())
	if err != nil {
		t.Fatal(err)
	}
	wr := w.writers[0]
	k0 := cfg.Prefix + "w0/k0"
	steps := []struct {
		kind    Kind
		key     string
		outcome Outcome
	}{
		{Put, k0, Indeterminate},    // nothing live: a new key
		{Put, k0, Failed},           // still nothing live: the delete share falls to an overwrite
		{Put, k0, Acknowledged},     // same again; now k0 is live
		{Delete, k0, Indeterminate}, // k0 is live: delete it
		{Delete, k0, Failed},        // unknown outcome: k0 is still live
		{Delete, k0, Acknowledged},  // now it is gone
		{Put, k0, Acknowledged},     // nothing live: overwrite the only key there is
		{Delete, k0, Acknowledged},
	}
	for i, s := range steps {
		op := wr.next(cfg)
		if op.Kind != s.kind || op.Key != s.key || op.Seq != i+1 {
			t.Fatalf("step %d: next = %v %q seq %d, want %v %q seq %d", i+1, op.Kind, op.Key, op.Seq, s.kind, s.key, i+1)
		}
		op.Outcome = s.outcome
		wr.settle(op)
	}
	if len(wr.live) != 0 || len(wr.keys) != 1 {
		t.Errorf("live %v, keys %v; want none live, one key", wr.live, wr.keys)
	}

	// A writer that never hears back never deletes: no key is live.
	cfg.Concurrency = 3
	cfg.DeleteRatio, cfg.OverwriteRatio = 0.5, 0.2
	w, err = New(cfg, NewLedger())
	if err != nil {
		t.Fatal(err)
	}
	for _, wr := range w.writers {
		for range 300 {
			op := wr.next(cfg)
			if op.Kind == Delete {
				t.Fatalf("writer %d deletes %q though no write was ever acknowledged", wr.id, op.Key)
			}
			op.Outcome = Indeterminate
			wr.settle(op)
		}
	}
}

// TestValuesNameTheRun: the same writer and sequence in two runs write two
// values, so no other run's snapshot matches the ledger.
func TestValuesNameTheRun(t *testing.T) {
	a, b := value("1a2b3c4d", 3, 7, 64), value("5e6f7a8b", 3, 7, 64)
	if a == b || !strings.HasPrefix(a, "r1a2b3c4d-w3-s7-") || len(a) != 64 {
		t.Fatalf("values %q and %q: want each to name its run", a, b)
	}
}

func TestValuesAreUniqueAndSized(t *testing.T) {
	seen := map[string]string{}
	for id := range 40 {
		for seq := range 120 {
			v := value("", id, seq, 64)
			if len(v) != 64 {
				t.Fatalf("value(%d, %d, 64) has length %d: %q", id, seq, len(v), v)
			}
			who := fmt.Sprintf("writer %d seq %d", id, seq)
			if prev, dup := seen[v]; dup {
				t.Fatalf("%s and %s have the same value %q", prev, who, v)
			}
			seen[v] = who
		}
	}
	// A size too small for writer and sequence does not make values collide
	// (nor truncate them).
	small := map[string]bool{}
	for id := range 15 {
		for seq := range 15 {
			v := value("", id, seq, 3)
			if want := fmt.Sprintf("w%d-s%d-", id, seq); v != want {
				t.Fatalf("value(%d, %d, 3) = %q, want %q", id, seq, v, want)
			}
			if small[v] {
				t.Fatalf("value %q twice", v)
			}
			small[v] = true
		}
	}

	// What next puts: the configured size, unique across writers.
	for _, size := range []int{20, 64, 1000} {
		cfg := testConfig()
		cfg.ValueSize = size
		vals := map[string]bool{}
		puts := 0
		for _, wops := range simulate(t, cfg, 300, false) {
			for _, op := range wops {
				if op.Kind != Put {
					continue
				}
				puts++
				if len(op.Value) != size {
					t.Fatalf("size %d: value of length %d", size, len(op.Value))
				}
				if !strings.HasPrefix(op.Value, fmt.Sprintf("w%d-s%d-", op.Writer, op.Seq)) {
					t.Fatalf("value %q does not name writer %d seq %d", op.Value, op.Writer, op.Seq)
				}
				vals[op.Value] = true
			}
		}
		if len(vals) != puts || puts == 0 {
			t.Errorf("size %d: %d distinct values among %d puts", size, len(vals), puts)
		}
	}
}

func TestLedgerCounts(t *testing.T) {
	l := NewLedger()
	if c := l.Count(); c != (Counts{}) || c.Total() != 0 || l.AckedAfter(0) != 0 {
		t.Fatalf("empty ledger: %+v, AckedAfter(0) %d", c, l.AckedAfter(0))
	}
	for _, op := range []Op{
		{Seq: 1, Kind: Put, Outcome: Acknowledged, Revision: 5},
		{Seq: 2, Kind: Put, Outcome: Acknowledged, Revision: 10},
		{Seq: 3, Kind: Delete, Outcome: Acknowledged, Revision: 11, Deleted: 1},
		{Seq: 4, Kind: Put, Outcome: Acknowledged, Revision: 12},
		{Seq: 5, Kind: Put, Outcome: Failed},
		{Seq: 6, Kind: Put, Outcome: Indeterminate},
		{Seq: 7, Kind: Delete, Outcome: Indeterminate},
		// An op without an outcome is counted nowhere.
		{Seq: 8, Kind: Put},
	} {
		l.Record(op)
	}
	want := Counts{Acknowledged: 4, Failed: 1, Indeterminate: 2}
	if c := l.Count(); c != want || c.Total() != 7 {
		t.Errorf("Count() = %+v (total %d), want %+v (total 7)", c, c.Total(), want)
	}
	for _, tc := range []struct {
		rev  int64
		want int
	}{{0, 4}, {4, 4}, {5, 3}, {9, 3}, {10, 2}, {11, 1}, {12, 0}, {100, 0}} {
		if got := l.AckedAfter(tc.rev); got != tc.want {
			t.Errorf("AckedAfter(%d) = %d, want %d", tc.rev, got, tc.want)
		}
	}

	ops := l.Ops()
	if len(ops) != 8 {
		t.Fatalf("Ops() has %d ops, want 8", len(ops))
	}
	for i, op := range ops {
		if op.Seq != i+1 {
			t.Errorf("Ops()[%d].Seq = %d: not in recording order", i, op.Seq)
		}
	}
	// Ops is a copy.
	ops[0].Outcome = Failed
	if l.Ops()[0].Outcome != Acknowledged || l.Count() != want {
		t.Error("changing what Ops() returned changed the ledger")
	}
}

func TestLedgerConcurrentRecord(t *testing.T) {
	l := NewLedger()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for s := range 250 {
				l.Record(Op{Writer: w, Seq: s + 1, Outcome: Outcome(1 + s%3)})
			}
		})
	}
	wg.Wait()
	if c := l.Count(); c.Total() != 2000 || len(l.Ops()) != 2000 {
		t.Fatalf("after 2000 concurrent records: %+v, %d ops", c, len(l.Ops()))
	}
	// 250 = 84 + 83 + 83 per writer.
	if c := l.Count(); c != (Counts{Acknowledged: 8 * 84, Failed: 8 * 83, Indeterminate: 8 * 83}) {
		t.Errorf("Count() = %+v", c)
	}
}

// startEtcd starts a one-member etcd and returns a client of it; both are
// closed when the test ends.
func startEtcd(t *testing.T, tweak func(*embed.Config)) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{etcdtest.Single(t, tweak)},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// A write etcd refuses, as the client really reports it, is failed, not
// indeterminate.
func TestClassifyRealRefusal(t *testing.T) {
	cli := startEtcd(t, func(c *embed.Config) { c.MaxRequestBytes = 1024 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := cli.Put(ctx, "/too/large", strings.Repeat("x", 4096))
	if err == nil {
		t.Fatal("a 4 KiB put to a server that takes 1 KiB requests succeeded")
	}
	if got, msg := Classify(err); got != Failed {
		t.Errorf("Classify(%T %v) = %v, want failed", err, msg, got)
	}
	_, err = cli.Put(ctx, "/fits", "x")
	if got, msg := Classify(err); got != Acknowledged {
		t.Errorf("small put: %v %s", got, msg)
	}
}

func TestRunAgainstEmbeddedEtcd(t *testing.T) {
	cli := startEtcd(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cfg := DefaultConfig()
	cfg.Prefix = "/run/"
	cfg.Concurrency = 8
	cfg.DeleteRatio = 0.1
	cfg.OverwriteRatio = 0.2
	cfg.Seed = 7
	cfg.TxnRatio = 0 // single writes: TestTransactionsAgainstEmbeddedEtcd has them
	w, err := New(cfg, NewLedger())
	if err != nil {
		t.Fatal(err)
	}

	// Two phases: writers go on where they stopped.
	total := 0
	for _, n := range []int{300, 200} {
		var mu sync.Mutex
		var calls, most int
		st, err := w.Run(ctx, cli, n, func(done int) {
			mu.Lock()
			calls++
			most = max(most, done)
			mu.Unlock()
		})
		if err != nil {
			t.Fatalf("Run(%d): %v", n, err)
		}
		total += n
		if st.Total() != n || st.Acknowledged != n {
			t.Errorf("Run(%d) stats %+v: want %d writes, all acknowledged by a healthy member", n, st.Counts, n)
		}
		if calls != n || most != n {
			t.Errorf("Run(%d): progress called %d times, up to %d; want %d and %d", n, calls, most, n, n)
		}
		if st.Elapsed <= 0 || st.PerSecond() <= 0 {
			t.Errorf("Run(%d): elapsed %v, %.1f/s", n, st.Elapsed, st.PerSecond())
		}
	}

	ops := w.Ledger().Ops()
	if len(ops) != total {
		t.Fatalf("ledger has %d ops, want %d", len(ops), total)
	}
	if c := w.Ledger().Count(); c != (Counts{Acknowledged: total}) {
		t.Errorf("Count() = %+v, want all %d acknowledged", c, total)
	}
	byWriter := map[int][]Op{}
	revs := map[int64]bool{}
	var deletes, overwrites int
	for _, op := range ops {
		if op.Outcome != Acknowledged || op.Err != "" {
			t.Fatalf("op %+v: not acknowledged", op)
		}
		if op.Revision <= 0 {
			t.Errorf("acknowledged %v of %q has revision %d", op.Kind, op.Key, op.Revision)
		}
		if op.Kind == Delete {
			deletes++
			if op.Deleted != 1 {
				t.Errorf("delete of live key %q deleted %d keys", op.Key, op.Deleted)
			}
		}
		if revs[op.Revision] {
			t.Errorf("two writes acknowledged at revision %d", op.Revision)
		}
		revs[op.Revision] = true
		byWriter[op.Writer] = append(byWriter[op.Writer], op)
	}
	if deletes == 0 {
		t.Error("no deletes in 500 writes with a delete ratio of 0.1")
	}
	// Every write changed the keyspace once, so the revisions are exactly
	// 2..total+1 (a new member starts at revision 1).
	for r := int64(2); r <= int64(total)+1; r++ {
		if !revs[r] {
			t.Errorf("no write acknowledged at revision %d", r)
		}
	}
	if len(byWriter) != cfg.Concurrency {
		t.Errorf("%d writers wrote, want %d", len(byWriter), cfg.Concurrency)
	}
	for id, wops := range byWriter {
		sort.Slice(wops, func(i, j int) bool { return wops[i].Seq < wops[j].Seq })
		seen := map[string]bool{}
		for i, op := range wops {
			if op.Seq != i+1 {
				t.Fatalf("writer %d: sequence numbers %d..: op %d has Seq %d", id, wops[0].Seq, i, op.Seq)
			}
			if i > 0 && op.Revision <= wops[i-1].Revision {
				t.Errorf("writer %d: seq %d at revision %d, after seq %d at %d", id, op.Seq, op.Revision, wops[i-1].Seq, wops[i-1].Revision)
			}
			if op.Kind == Put && seen[op.Key] {
				overwrites++
			}
			seen[op.Key] = true
		}
	}
	if overwrites == 0 {
		t.Error("no overwrites in 500 writes with an overwrite ratio of 0.2")
	}

	// What etcd holds is the ledger replayed in revision order.
	slices.SortFunc(ops, func(a, b Op) int { return int(a.Revision - b.Revision) })
	want := map[string]Op{}
	for _, op := range ops {
		if op.Kind == Put {
			want[op.Key] = op
		} else {
			delete(want, op.Key)
		}
	}
	resp, err := cli.Get(ctx, cfg.Prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != len(want) {
		t.Errorf("etcd holds %d keys under %s, ledger says %d", len(resp.Kvs), cfg.Prefix, len(want))
	}
	for _, kv := range resp.Kvs {
		op, ok := want[string(kv.Key)]
		if !ok || string(kv.Value) != op.Value || kv.ModRevision != op.Revision {
			t.Errorf("etcd has %s=%.12s@%d, ledger says %+v", kv.Key, kv.Value, kv.ModRevision, op)
		}
	}

	// A Run whose context has ended sends nothing and says why.
	done, stop := context.WithCancel(ctx)
	stop()
	st, err := w.Run(done, cli, 100, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: err = %v, want context.Canceled", err)
	}
	if st.Total() != 0 || len(w.Ledger().Ops()) != total {
		t.Errorf("Run with a cancelled context sent %d writes (ledger %d)", st.Total(), len(w.Ledger().Ops()))
	}
}

// TestTransactionsAgainstEmbeddedEtcd: a transaction's puts are ledgered as
// one write each, with one writer, sequence number, value and revision; they
// take exactly the writes asked for; etcd holds each at that revision.
func TestTransactionsAgainstEmbeddedEtcd(t *testing.T) {
	cli := startEtcd(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := DefaultConfig()
	cfg.Prefix, cfg.Concurrency, cfg.DeleteRatio, cfg.OverwriteRatio = "/txn/", 4, 0, 0.5
	cfg.TxnRatio, cfg.TxnSize, cfg.ReadRatio = 1, 3, 0
	ledger := NewLedger()
	w, err := New(cfg, ledger)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100 // not a multiple of 3: some transaction is cut short
	st, err := w.Run(ctx, cli, n, nil)
	if err != nil || st.Acknowledged != n {
		t.Fatalf("Run: %v, stats %+v: want %d writes acknowledged", err, st.Counts, n)
	}
	type txnID struct{ writer, seq int }
	txns := map[txnID][]Op{}
	singles := 0
	for _, op := range ledger.Ops() {
		if op.Txn == 0 {
			// Only the write that reaches n may be cut down to one put.
			if singles++; singles > 1 {
				t.Fatalf("op %+v is a second write outside a transaction, at a txn ratio of 1", op)
			}
		}
		id := txnID{op.Writer, op.Seq}
		txns[id] = append(txns[id], op)
	}
	last := map[string]int64{}
	for id, ops := range txns {
		keys := map[string]bool{}
		for _, op := range ops {
			if (op.Txn != len(ops) && op.Txn != 0) || op.Revision != ops[0].Revision || op.Value != ops[0].Value || keys[op.Key] {
				t.Fatalf("transaction %+v: %+v", id, ops)
			}
			keys[op.Key] = true
			last[op.Key] = max(last[op.Key], op.Revision)
		}
	}
	if len(txns) < n/3 {
		t.Fatalf("%d transactions for %d writes", len(txns), n)
	}
	resp, err := cli.Get(ctx, cfg.Prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != len(last) {
		t.Fatalf("etcd holds %d keys, the ledger %d", len(resp.Kvs), len(last))
	}
	for _, kv := range resp.Kvs {
		if kv.ModRevision != last[string(kv.Key)] {
			t.Errorf("%s at revision %d, its last transaction's is %d", kv.Key, kv.ModRevision, last[string(kv.Key)])
		}
	}
}
