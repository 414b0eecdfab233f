package workload

import (
	"reflect"
	"strconv"
	"testing"
	"time"
)

// TestLedgerGivesBackWhatItWasGiven: every field of every write comes back
// as recorded, whether the ledger derives it or keeps it beside.
func TestLedgerGivesBackWhatItWasGiven(t *testing.T) {
	l := NewLedger()
	l.Shape("/drill/", "r1", 64)
	now := time.Now()
	ops := []Op{
		{Writer: 3, Seq: 1, Kind: Put, Key: "/drill/w3/k0", Value: value("r1", 3, 1, 64), Outcome: Acknowledged, Revision: 10, Sent: now, Done: now.Add(time.Millisecond), Cluster: 0xabc},
		{Writer: 3, Seq: 2, Kind: Put, Key: "/drill/w3/k7", Value: value("r1", 3, 2, 64), Txn: 3, Outcome: Indeterminate, Err: "timeout", Sent: now.Add(2 * time.Millisecond), Epoch: Recovered},
		{Writer: 3, Seq: 3, Kind: Delete, Key: "/drill/w3/k0", Outcome: Acknowledged, Revision: 12, Deleted: 1, Cluster: 0xdef, Sent: now, Done: now},
		{Writer: 128, Seq: 1, Kind: Put, Key: "/drill/w128/lease0/k1", Value: value("r1", 128, 1, 64), Lease: 0x77, Outcome: Acknowledged, Revision: 13, Cluster: 0xabc},
		{Writer: 0, Seq: 4, Kind: Put, Key: "/elsewhere/x", Value: "not derived", Outcome: Failed, Err: "too large"},
		{Writer: 0, Seq: 5, Kind: Put, Key: "/drill/w0/k01", Value: value("r1", 0, 5, 64), Outcome: Acknowledged, Revision: 14},
	}
	for _, op := range ops {
		l.Record(op)
	}
	got := l.Ops()
	if len(got) != len(ops) {
		t.Fatalf("%d ops back, want %d", len(got), len(ops))
	}
	for i := range ops {
		w, g := ops[i], got[i]
		if !w.Sent.Equal(g.Sent) || !w.Done.Equal(g.Done) || w.Done.IsZero() != g.Done.IsZero() {
			t.Errorf("op %d: times %v, %v; want %v, %v", i, g.Sent, g.Done, w.Sent, w.Done)
		}
		w.Sent, w.Done, g.Sent, g.Done = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("op %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if c := l.Count(); c != (Counts{Acknowledged: 4, Failed: 1, Indeterminate: 1}) || l.MaxRevision() != 14 || l.AckedAfter(12) != 2 {
		t.Errorf("count %+v, max revision %d, acked after 12: %d", c, l.MaxRevision(), l.AckedAfter(12))
	}
}

// TestLedgerRecordBytes: a write costs the ledger tens of bytes, not its
// key and value.
func TestLedgerRecordBytes(t *testing.T) {
	if RecordBytes > 64 {
		t.Fatalf("a ledger record is %d bytes, want 64 at most", RecordBytes)
	}
	l := NewLedger()
	l.Shape("/drill/", "r1", 1024)
	for i := range 1000 {
		l.Record(Op{Writer: 1, Seq: i + 1, Kind: Put, Key: "/drill/w1/k" + strconv.Itoa(i), Value: value("r1", 1, i+1, 1024), Outcome: Acknowledged, Revision: int64(i + 2)})
	}
	if n := len(l.ops.values) + len(l.ops.keys) + len(l.ops.errs); n != 0 {
		t.Fatalf("%d keys, values or errors kept beside: want every one derived", n)
	}
}
