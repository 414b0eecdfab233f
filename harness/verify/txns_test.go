package verify

import (
	"testing"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// txn records on h a transaction putting value under keys, with outcome out
// at rev (acknowledged only).
func (h *history) txn(out workload.Outcome, rev int64, value string, keys ...string) *history {
	h.seq++
	for _, k := range keys {
		op := workload.Op{Writer: h.writer, Seq: h.seq, Kind: workload.Put, Key: k, Value: value, Outcome: out, Txn: len(keys)}
		if out == workload.Acknowledged {
			op.Revision = rev
		}
		h.ops = append(h.ops, op)
	}
	return h
}

func TestPartialTxns(t *testing.T) {
	const a, b, c = "/d/w0/k0", "/d/w0/k1", "/d/w0/k2"
	ack, doubt := workload.Acknowledged, workload.Indeterminate
	all := func(v string, rev int64) map[string]KV {
		return map[string]KV{a: {Value: v, ModRevision: rev}, b: {Value: v, ModRevision: rev}, c: {Value: v, ModRevision: rev}}
	}
	without := func(m map[string]KV, k string) map[string]KV { delete(m, k); return m }
	for _, tc := range []struct {
		name    string
		ops     []workload.Op
		actual  map[string]KV
		partial []string
	}{
		{"acknowledged, all held", ledger(w(0).txn(ack, 10, "t", a, b, c)), all("t", 10), nil},
		{"acknowledged, one put missing", ledger(w(0).txn(ack, 10, "t", a, b, c)), without(all("t", 10), b), []string{b}},
		{"acknowledged, one put at another revision", ledger(w(0).txn(ack, 10, "t", a, b, c)), map[string]KV{a: {Value: "t", ModRevision: 10}, b: {Value: "t", ModRevision: 12}, c: {Value: "t", ModRevision: 10}}, []string{b}},
		{"acknowledged above the backup: not looked at", ledger(w(0).txn(ack, snapRev+1, "t", a, b, c)), map[string]KV{a: {Value: "t", ModRevision: snapRev + 1}}, nil},
		{"in doubt, none held", ledger(w(0).txn(doubt, 0, "t", a, b, c)), map[string]KV{}, nil},
		{"in doubt, all held at one revision", ledger(w(0).txn(doubt, 0, "t", a, b, c)), all("t", 20), nil},
		{"in doubt, one held", ledger(w(0).txn(doubt, 0, "t", a, b, c)), map[string]KV{c: {Value: "t", ModRevision: 20}}, []string{a, b}},
		{"in doubt, all held at two revisions", ledger(w(0).txn(doubt, 0, "t", a, b, c)), map[string]KV{a: {Value: "t", ModRevision: 20}, b: {Value: "t", ModRevision: 21}, c: {Value: "t", ModRevision: 20}}, []string{a}},
		{"a put replaced by a later acknowledged write", ledger(w(0).txn(ack, 10, "t", a, b, c).put(b, "later", 11)), map[string]KV{a: {Value: "t", ModRevision: 10}, b: {Value: "later", ModRevision: 11}, c: {Value: "t", ModRevision: 10}}, nil},
		{"a put maybe replaced by a later write in doubt", ledger(w(0).txn(ack, 10, "t", a, b, c).delIndet(b)), without(all("t", 10), b), nil},
		{"a later write above the backup does not replace it", ledger(w(0).txn(ack, 10, "t", a, b, c).del(b, snapRev+1)), without(all("t", 10), b), []string{b}},
		{"refused: left out", ledger(w(0).txn(workload.Failed, 0, "t", a, b, c)), map[string]KV{a: {Value: "t", ModRevision: 20}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PartialTxns(tc.ops, snapRev, tc.actual)
			if len(got) != len(tc.partial) {
				t.Fatalf("findings %+v, want partial %v", got, tc.partial)
			}
			for i, k := range tc.partial {
				if got[i].Key != k || got[i].Kind != KindPartialTxn {
					t.Errorf("finding %d: %+v, want %s %s", i, got[i], KindPartialTxn, k)
				}
			}
		})
	}
}
