package verify

import (
	"time"

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
	return fromMap(NewStream(ops, rev, time.Time{}), actual).Partial
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
