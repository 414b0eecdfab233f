package verify

import (
	"slices"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// then marks the writes h records from here on as sent to the recovered
// cluster.
func (h *history) then() *history {
	h.recovered = len(h.ops)
	return h
}

// epochs returns h's ops with those after then() in the recovered epoch.
func (h *history) epochs() []workload.Op {
	for i := h.recovered; i < len(h.ops) && h.recovered > 0; i++ {
		h.ops[i].Epoch = workload.Recovered
	}
	return h.ops
}

// TestCheckAtAcrossEpochs: the old cluster's writes count up to the
// backup's revision (snapRev), the recovered cluster's all, whatever their
// revisions, which may repeat the old cluster's lost ones.
func TestCheckAtAcrossEpochs(t *testing.T) {
	const a, b = "/d/w0/k0", "/d/w0/k1"
	for _, tc := range []struct {
		name     string
		h        *history
		actual   map[string]KV
		want     counts
		findings []finding
	}{
		{
			name:   "an old write kept, a recovered write on top at a revision the old cluster used for a lost one",
			h:      w(0).put(a, "v1", 90).put(a, "lost", 120).then().put(a, "v2", 120),
			actual: map[string]KV{a: {Value: "v2", ModRevision: 120, CreateRevision: 90, Version: 2}},
			want:   counts{Expected: 1, Restored: 1},
		},
		{
			name:     "a recovered write missing",
			h:        w(0).put(a, "v1", 90).then().put(a, "v2", 105),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 90}},
			want:     counts{Expected: 1, Restored: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v2"@105`, `"v1"@90`}},
		},
		{
			name:     "the old cluster's lost write present in the recovered one",
			h:        w(0).put(a, "v1", 90).put(b, "late", 120).then().put(a, "v2", 105),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 105}, b: {Value: "late", ModRevision: 120}},
			want:     counts{Expected: 1, Restored: 2, Resurrected: 1},
			findings: []finding{{b, "resurrected", "absent", "written after revision 100"}},
		},
		{
			name:     "a recovered delete not applied",
			h:        w(0).put(a, "v1", 90).then().del(a, 106),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 90}},
			want:     counts{Expected: 0, Restored: 1, Resurrected: 1},
			findings: []finding{{a, "resurrected", "absent", `"v1"@90`}},
		},
		{
			name:   "a recovered write in doubt applied at a revision the old cluster answered a lost write with",
			h:      w(0).put(a, "v1", 90).put(b, "lost", 103).then().putIndet(a, "v2"),
			actual: map[string]KV{a: {Value: "v2", ModRevision: 103}},
			want:   counts{Expected: 1, Restored: 1, Indeterminate: 1},
		},
		{
			name:     "a recovered write in doubt cannot be at a revision the old cluster kept",
			h:        w(0).put(a, "v1", 90).put(b, "x", 95).then().putIndet(a, "v2"),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 95}, b: {Value: "x", ModRevision: 95}},
			want:     counts{Expected: 2, Restored: 2, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@90`, `"v2"@95`}},
		},
		{
			name:     "an old write in doubt after a lost acknowledged one excuses nothing at or below the backup",
			h:        w(0).put(a, "v1", 90).put(b, "lost", 110).putIndet(a, "v2"),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 99}},
			want:     counts{Expected: 1, Restored: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@90`, `"v2"@99`}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := CheckAt(tc.h.epochs(), snapRev, tc.actual)
			if got := countsOf(r); got != tc.want {
				t.Errorf("counts %+v\nwant   %+v", got, tc.want)
			}
			checkFindings(t, r.Findings, tc.findings)
		})
	}
}

// TestPartialTxnsAcrossEpochs: a transaction of the recovered cluster is
// checked whatever its revision; one the old cluster acknowledged above the
// backup is not.
func TestPartialTxnsAcrossEpochs(t *testing.T) {
	txn := func(epoch workload.Epoch, rev int64) []workload.Op {
		var ops []workload.Op
		for _, k := range []string{"/d/a", "/d/b"} {
			ops = append(ops, workload.Op{Writer: 1, Seq: 7, Kind: workload.Put, Key: k, Value: "t", Txn: 2, Outcome: workload.Acknowledged, Revision: rev, Epoch: epoch})
		}
		return ops
	}
	half := map[string]KV{"/d/a": {Value: "t", ModRevision: 120}}
	if got := PartialTxns(txn(workload.Recovered, 120), snapRev, half); len(got) != 1 || got[0].Key != "/d/b" {
		t.Errorf("recovered transaction held in part: findings %+v, want /d/b", got)
	}
	if got := PartialTxns(txn(workload.Old, 120), snapRev, half); len(got) != 0 {
		t.Errorf("old transaction above the backup: findings %+v, want none (CheckAt reports its key)", got)
	}
}

// TestDoubtAcrossEpochs: a write in doubt to the recovered cluster explains
// what it holds even after a write the old cluster acknowledged above the
// backup; one to the old cluster does not.
func TestDoubtAcrossEpochs(t *testing.T) {
	const a = "/d/w0/k0"
	for _, tc := range []struct {
		name string
		h    *history
		want counts
	}{
		{"recovered put in doubt after a lost one", w(0).put(a, "v1", 90).put(a, "lost", 110).then().putIndet(a, "v2"), counts{Expected: 1, Restored: 1, Indeterminate: 1}},
		{"old put in doubt after a lost one", w(0).put(a, "v1", 90).put(a, "lost", 110).putIndet(a, "v2"), counts{Expected: 1, Restored: 1, Lost: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := countsOf(CheckAt(tc.h.epochs(), snapRev, map[string]KV{a: {Value: "v2", ModRevision: 130}}))
			if got != tc.want {
				t.Errorf("counts %+v\nwant   %+v", got, tc.want)
			}
		})
	}
}

// TestEitherCluster: a write in doubt sent to an address the recovered
// cluster came to serve on may be in it; one sent earlier only in the old.
func TestEitherCluster(t *testing.T) {
	const a = "/d/w0/k0"
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := w(0).put(a, "v1", 90).putIndet(a, "late")
	h.ops[1].Sent = from.Add(time.Second)
	actual := map[string]KV{a: {Value: "late", ModRevision: 120}}
	if got := countsOf(CheckAt(SentBefore(slices.Clone(h.ops), from), snapRev, actual)); got.Lost != 1 {
		t.Fatalf("without the recovered cluster on the old addresses: counts %+v, want the key lost", got)
	}
	ops := EitherCluster(slices.Clone(h.ops), from)
	if len(ops) != 3 || ops[2].Epoch != workload.Recovered || h.ops[1].Epoch != workload.Old {
		t.Fatalf("ops %+v: want the write in doubt copied into the recovered cluster, the ledger's untouched", ops)
	}
	if got := countsOf(CheckAt(SentBefore(ops, from), snapRev, actual)); got != (counts{Expected: 1, Restored: 1, Indeterminate: 1}) {
		t.Fatalf("counts %+v, want the key explained by the write in doubt", got)
	}
	if got := EitherCluster(h.ops, from.Add(2*time.Second)); len(got) != 2 {
		t.Fatalf("a write sent before from: %+v, want no copy", got)
	}
}

// TestCheckAcrossLateWrite: a write in doubt sent through the old client
// before the writers were moved may be applied after the writer's next
// write, sent through the new one; through one client it may not.
func TestCheckAcrossLateWrite(t *testing.T) {
	const a = "/d/w0/k0"
	switched := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := w(0).put(a, "v1", 90).putIndet(a, "late").then().put(a, "v2", 110)
	ops := h.epochs()
	ops[1].Sent, ops[2].Sent = switched.Add(-time.Second), switched.Add(time.Second)
	late := map[string]KV{a: {Value: "late", ModRevision: 111}}
	if got := countsOf(CheckAcross(ops, snapRev, late, switched)); got != (counts{Expected: 1, Restored: 1, Indeterminate: 1}) {
		t.Errorf("across the switch: counts %+v, want the late write explained", got)
	}
	if got := countsOf(CheckAcross(ops, snapRev, map[string]KV{a: {Value: "late", ModRevision: 105}}, switched)); got.Lost != 1 {
		t.Errorf("applied below the write after it: counts %+v, want lost", got)
	}
	if got := countsOf(CheckAt(ops, snapRev, late)); got.Lost != 1 {
		t.Errorf("through one client: counts %+v, want lost", got)
	}
}
