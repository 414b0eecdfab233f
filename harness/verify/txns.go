package verify

import (
	"fmt"
	"sort"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// KindPartialTxn is a key a transaction put that the keyspace lacks while it
// holds the transaction's other puts: a transaction is all or nothing.
const KindPartialTxn = "partial-txn"

// PartialTxns finds the transactions a keyspace holds in part. A put of a
// transaction is held when its key has the transaction's value (at the
// transaction's revision, if etcd answered it; at one revision shared by
// all its held puts in any case). Only keys the transaction wrote last, at
// or below rev, count: a later write may have replaced the put. A
// transaction acknowledged above rev is not looked at (a restore at rev
// holds none of it; CheckAt says so if it does). Refused transactions are
// left out; ops as SentBefore gives them make one sent after the backup
// refused.
func PartialTxns(ops []workload.Op, rev int64, actual map[string]KV) []Finding {
	type txnID struct {
		writer, seq int
		epoch       workload.Epoch
	}
	txns := map[txnID][]workload.Op{}
	byKey := groupByKey(ops)
	for _, op := range ops {
		if op.Txn > 1 {
			id := txnID{op.Writer, op.Seq, op.Epoch}
			txns[id] = append(txns[id], op)
		}
	}
	var out []Finding
	for _, puts := range txns {
		t := puts[0]
		if t.Outcome == workload.Failed || Beyond(t, rev) {
			continue
		}
		var held, missing []workload.Op
		heldAt := map[int64]bool{}
		for _, p := range puts {
			if !lastAt(byKey[p.Key], p, rev) {
				continue
			}
			kv, ok := actual[p.Key]
			if ok && kv.Value == p.Value && (t.Outcome != workload.Acknowledged || kv.ModRevision == t.Revision) {
				held = append(held, p)
				heldAt[kv.ModRevision] = true
				continue
			}
			missing = append(missing, p)
		}
		if len(held) == 0 || (len(missing) == 0 && len(heldAt) == 1) {
			continue
		}
		want := fmt.Sprintf("all %d puts of %s transaction w%d-s%d, at one revision", t.Txn, t.Outcome, t.Writer, t.Seq)
		for _, p := range missing {
			out = append(out, Finding{Key: p.Key, Kind: KindPartialTxn, Want: want, Got: fmt.Sprintf("%d of them held, this one not", len(held))})
		}
		if len(missing) == 0 {
			out = append(out, Finding{Key: held[0].Key, Kind: KindPartialTxn, Want: want, Got: fmt.Sprintf("its puts at %d revisions", len(heldAt))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// lastAt says whether p is the last write of its key that may be in a
// keyspace at rev: no later write of the key, except refused ones and
// acknowledged ones above rev.
func lastAt(kops []workload.Op, p workload.Op, rev int64) bool {
	for _, op := range kops {
		if op.Seq <= p.Seq || op.Outcome == workload.Failed || Beyond(op, rev) {
			continue
		}
		return false
	}
	return true
}
