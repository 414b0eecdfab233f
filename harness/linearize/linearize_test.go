package linearize

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness/etcdtest"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// t0 is the start of every synthetic history; at(n) is n ms after it.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

const key = "/d/w0/k0"

// put, del and doubt build writes of key by writer w, sent at from and
// answered at to (ms).
func put(w int, value string, rev int64, from, to int) workload.Op {
	return workload.Op{Writer: w, Kind: workload.Put, Key: key, Value: value, Outcome: workload.Acknowledged, Revision: rev, Sent: at(from), Done: at(to)}
}

func del(w int, deleted, rev int64, from, to int) workload.Op {
	return workload.Op{Writer: w, Kind: workload.Delete, Key: key, Outcome: workload.Acknowledged, Revision: rev, Deleted: deleted, Sent: at(from), Done: at(to)}
}

func doubt(w int, value string, from int) workload.Op {
	return workload.Op{Writer: w, Kind: workload.Put, Key: key, Value: value, Outcome: workload.Indeterminate, Sent: at(from)}
}

func get(w int, value string, modRev, rev int64, from, to int) workload.Read {
	return workload.Read{Key: key, Writer: w, Sent: at(from), Done: at(to), Revision: rev, Present: value != "", Value: value, ModRevision: modRev}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ops   []workload.Op
		reads []workload.Read
		want  porcupine.CheckResult
	}{
		{"puts one after another, revisions rising", []workload.Op{put(0, "a", 10, 0, 1), put(0, "b", 12, 2, 3)}, nil, porcupine.Ok},
		{"a put answered below the revision of a put that ended before it began", []workload.Op{put(0, "a", 10, 0, 1), put(0, "b", 9, 2, 3)}, nil, porcupine.Illegal},
		{"two writers' overlapping puts, in either revision order", []workload.Op{put(0, "a", 11, 0, 5), put(1, "b", 10, 1, 4)}, nil, porcupine.Ok},
		{"a delete of a live key deletes it", []workload.Op{put(0, "a", 10, 0, 1), del(0, 1, 11, 2, 3)}, nil, porcupine.Ok},
		{"a delete that found nothing after an acknowledged put", []workload.Op{put(0, "a", 10, 0, 1), del(0, 0, 11, 2, 3)}, nil, porcupine.Illegal},
		{"a delete that deleted a key never written", []workload.Op{del(0, 1, 11, 2, 3)}, nil, porcupine.Illegal},
		{"a read sees the last acknowledged put", []workload.Op{put(0, "a", 10, 0, 1), put(0, "b", 12, 2, 3)}, []workload.Read{get(1, "b", 12, 12, 4, 5)}, porcupine.Ok},
		{"a read sees an older value after a newer was acknowledged", []workload.Op{put(0, "a", 10, 0, 1), put(0, "b", 12, 2, 3)}, []workload.Read{get(1, "a", 10, 12, 4, 5)}, porcupine.Illegal},
		{"a read sees a value never written", []workload.Op{put(0, "a", 10, 0, 1)}, []workload.Read{get(1, "z", 10, 10, 4, 5)}, porcupine.Illegal},
		{"a read sees the right value at another mod revision", []workload.Op{put(0, "a", 10, 0, 1)}, []workload.Read{get(1, "a", 11, 11, 4, 5)}, porcupine.Illegal},
		{"a read's store revision goes back", []workload.Op{put(0, "a", 10, 0, 1)}, []workload.Read{get(1, "a", 10, 15, 2, 3), get(1, "a", 10, 14, 4, 5)}, porcupine.Illegal},
		{"a read during two overlapping puts may see either", []workload.Op{put(0, "a", 11, 0, 5), put(1, "b", 10, 1, 4)}, []workload.Read{get(2, "b", 10, 10, 2, 3)}, porcupine.Ok},
		{"after both, a read sees the higher revision's value", []workload.Op{put(0, "a", 11, 0, 5), put(1, "b", 10, 1, 4)}, []workload.Read{get(2, "b", 10, 11, 6, 7)}, porcupine.Illegal},
		{"a put in doubt never seen", []workload.Op{put(0, "a", 10, 0, 1), doubt(0, "b", 2)}, []workload.Read{get(1, "a", 10, 10, 3, 4)}, porcupine.Ok},
		{"a put in doubt seen by a later read", []workload.Op{put(0, "a", 10, 0, 1), doubt(0, "b", 2)}, []workload.Read{get(1, "b", 13, 13, 5, 6)}, porcupine.Ok},
		{"a put in doubt seen at a revision below one seen before it", []workload.Op{put(0, "a", 10, 0, 1), doubt(0, "b", 2)}, []workload.Read{get(1, "b", 9, 13, 5, 6)}, porcupine.Illegal},
		{"a refused put is never applied", []workload.Op{put(0, "a", 10, 0, 1), {Writer: 0, Kind: workload.Put, Key: key, Value: "b", Outcome: workload.Failed, Sent: at(2), Done: at(3)}}, []workload.Read{get(1, "b", 11, 11, 5, 6)}, porcupine.Illegal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Check(History(tc.ops, tc.reads), 5*time.Second)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s", r.Verdict, tc.want)
			}
			if r.OK() != (tc.want == porcupine.Ok) {
				t.Fatalf("OK() = %v with verdict %s", r.OK(), r.Verdict)
			}
		})
	}
}

// TestPartitionsByKey: a violation on one key is found among many keys
// that are fine, and each key is checked on its own.
func TestPartitionsByKey(t *testing.T) {
	var ops []workload.Op
	for i := range 2000 {
		k := fmt.Sprintf("/d/w0/k%d", i)
		ops = append(ops, workload.Op{Writer: 0, Kind: workload.Put, Key: k, Value: "v", Outcome: workload.Acknowledged, Revision: int64(i + 2), Sent: at(2 * i), Done: at(2*i + 1)})
	}
	if r := Check(History(ops, nil), 5*time.Second); r.Verdict != porcupine.Ok || r.Operations != 2000 {
		t.Fatalf("verdict %s over %d operations, want ok over 2000", r.Verdict, r.Operations)
	}
	bad := append(ops, del(1, 0, 5000, 5000, 5001), put(1, "a", 4000, 4000, 4001))
	r := Check(History(bad, nil), 5*time.Second)
	if r.Verdict != porcupine.Illegal {
		t.Fatalf("verdict %s, want illegal", r.Verdict)
	}
	var html bytes.Buffer
	if err := r.Visualize(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "deleted 0 @5000") {
		t.Fatalf("the visualization does not show the offending delete (%d bytes)", html.Len())
	}
}

// TestWorkloadAgainstEtcd: a real workload's ledger against a real etcd is
// linearizable.
func TestWorkloadAgainstEtcd(t *testing.T) {
	ep := etcdtest.Single(t, nil)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	cfg := workload.DefaultConfig()
	cfg.Seed = 7
	ledger := workload.NewLedger()
	w, err := workload.New(cfg, ledger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Run(context.Background(), cli, 3000, nil); err != nil {
		t.Fatal(err)
	}
	ops := ledger.Ops()
	for _, op := range ops {
		if op.Sent.IsZero() || (op.Outcome == workload.Acknowledged && op.Done.Before(op.Sent)) {
			t.Fatalf("op without its times: %+v", op)
		}
	}
	reads := ledger.Reads()
	if len(reads) < 100 {
		t.Fatalf("%d reads of 3000 writes at read ratio %.2f", len(reads), cfg.ReadRatio)
	}
	r := Check(History(ops, reads), 5*time.Second)
	if r.Verdict != porcupine.Ok || r.Operations != len(ops)+len(reads) {
		t.Fatalf("verdict %s over %d of %d operations", r.Verdict, r.Operations, len(ops)+len(reads))
	}
	t.Logf("%d operations checked in %v", r.Operations, r.Elapsed)
}

// BenchmarkCheck checks a history the size of the default drill's: 10,100
// writes by 128 writers, with 10% reads, as a run of the workload leaves.
func BenchmarkCheck(b *testing.B) {
	var ops []workload.Op
	var reads []workload.Read
	rev := int64(1)
	for i := range 10100 {
		w, k := i%128, i/128%64
		key := fmt.Sprintf("/drill/w%d/k%d", w, k)
		rev++
		ops = append(ops, workload.Op{Writer: w, Seq: i/128 + 1, Kind: workload.Put, Key: key, Value: fmt.Sprint(i), Outcome: workload.Acknowledged, Revision: rev, Sent: at(i), Done: at(i + 1)})
		if i%10 == 0 {
			reads = append(reads, workload.Read{Writer: w, Key: key, Sent: at(i + 2), Done: at(i + 3), Revision: rev, Present: true, Value: fmt.Sprint(i), ModRevision: rev})
		}
	}
	h := History(ops, reads)
	b.ResetTimer()
	for b.Loop() {
		if r := Check(h, time.Minute); r.Verdict != porcupine.Ok {
			b.Fatalf("verdict %s", r.Verdict)
		}
	}
	b.ReportMetric(float64(len(h)), "ops/check")
}

// TestAcross: the recovered cluster's history starts from the ledger's
// state at the backup's revision (100 here), key by key.
func TestAcross(t *testing.T) {
	rec := func(op workload.Op) workload.Op { op.Epoch = workload.Recovered; return op }
	recGet := func(r workload.Read) workload.Read { r.Epoch = workload.Recovered; return r }
	for _, tc := range []struct {
		name  string
		ops   []workload.Op
		reads []workload.Read
		want  porcupine.CheckResult
	}{
		{"the recovered cluster serves the backup's value",
			[]workload.Op{put(0, "a", 90, 0, 1), put(0, "b", 120, 2, 3)}, []workload.Read{recGet(get(1, "a", 90, 101, 10, 11))}, porcupine.Ok},
		{"the recovered cluster serves a value written after the backup",
			[]workload.Op{put(0, "a", 90, 0, 1), put(0, "b", 120, 2, 3)}, []workload.Read{recGet(get(1, "b", 120, 121, 10, 11))}, porcupine.Illegal},
		{"the old cluster's history alone is checked as ever",
			[]workload.Op{put(0, "a", 90, 0, 1), put(0, "b", 120, 2, 3)}, []workload.Read{get(1, "a", 90, 121, 4, 5)}, porcupine.Illegal},
		{"a recovered put, then a read of it",
			[]workload.Op{put(0, "a", 90, 0, 1), rec(put(0, "c", 101, 10, 11))}, []workload.Read{recGet(get(1, "c", 101, 101, 12, 13))}, porcupine.Ok},
		{"a recovered put, then a read of the backup's value",
			[]workload.Op{put(0, "a", 90, 0, 1), rec(put(0, "c", 101, 10, 11))}, []workload.Read{recGet(get(1, "a", 90, 101, 12, 13))}, porcupine.Illegal},
		{"a write in doubt before the backup: either value may be restored",
			[]workload.Op{put(0, "a", 90, 0, 1), doubt(0, "b", 2)}, []workload.Read{recGet(get(1, "b", 95, 101, 10, 11)), recGet(get(1, "b", 95, 101, 12, 13))}, porcupine.Ok},
		{"a write in doubt before the backup: what one read saw, the next must see",
			[]workload.Op{put(0, "a", 90, 0, 1), doubt(0, "b", 2)}, []workload.Read{recGet(get(1, "b", 95, 101, 10, 11)), recGet(get(1, "a", 90, 101, 12, 13))}, porcupine.Illegal},
		{"a delete of the recovered cluster that finds the backup's key",
			[]workload.Op{put(0, "a", 90, 0, 1), rec(del(0, 1, 101, 10, 11))}, nil, porcupine.Ok},
		{"a delete of the recovered cluster that finds nothing where the backup holds the key",
			[]workload.Op{put(0, "a", 90, 0, 1), rec(del(0, 0, 101, 10, 11))}, nil, porcupine.Illegal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := Check(Across(tc.ops, tc.reads, 100), 5*time.Second); r.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s", r.Verdict, tc.want)
			}
		})
	}
}

// TestSplitKeepsTheOldClusterAsItWas: a write in doubt sent after the
// backup was taken cannot be in it (the backup's view refuses it), but a
// slow kill let the old cluster apply it and answer a read of it. The old
// cluster's part of the history is taken before that view: linearizable.
// Built from the backup's view alone, the read is unexplained.
func TestSplitKeepsTheOldClusterAsItWas(t *testing.T) {
	rec := func(op workload.Op) workload.Op { op.Epoch = workload.Recovered; return op }
	ledger := func() []workload.Op {
		return []workload.Op{put(0, "a", 90, 0, 1), doubt(0, "late", 5), rec(put(0, "c", 101, 20, 21))}
	}
	reads := []workload.Read{get(1, "late", 130, 131, 8, 9)}
	backupView := func(ops []workload.Op) []workload.Op {
		ops[1].Outcome = workload.Failed // as verify.SentBefore makes it
		return ops
	}
	ops := ledger()
	split := SplitOld(ops, reads)
	if r := Check(split.Recovered(backupView(ops), 100), 5*time.Second); r.Verdict != porcupine.Ok {
		t.Fatalf("split history: verdict %s, want Ok", r.Verdict)
	}
	if r := Check(Across(backupView(ledger()), reads, 100), 5*time.Second); r.Verdict != porcupine.Illegal {
		t.Fatalf("the backup's view for both clusters: verdict %s, want Illegal (the read of the late write is unexplained)", r.Verdict)
	}
}
