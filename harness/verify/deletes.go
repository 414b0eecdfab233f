package verify

import (
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// KindLostBeforeFault is a key the workload deleted that was already gone:
// the old cluster had lost an acknowledged write before any fault.
const KindLostBeforeFault = "lost-before-fault"

// LostBeforeFault finds the acknowledged deletes that deleted nothing
// although the ledger holds the key live: the key's write before the delete
// (a writer owns its keys and writes them one at a time, so Seq orders them)
// is an acknowledged put, and no write between them is in doubt. A put the
// old cluster acknowledged above rev is not one the recovered cluster keeps
// (see Beyond): a delete there finds nothing of it. One finding a key, in
// key order.
func LostBeforeFault(ops []workload.Op, rev int64) []Finding {
	return fromMap(NewStream(ops, rev, time.Time{}), nil).LostBeforeFault
}

// lostBeforeFault is LostBeforeFault for one key, written by kops in
// program order.
func lostBeforeFault(key string, kops []workload.Op, rev int64) (Finding, bool) {
	for i, op := range kops {
		if op.Kind != workload.Delete || op.Outcome != workload.Acknowledged || op.Deleted != 0 || i == 0 {
			continue
		}
		prev := kops[i-1]
		if prev.Kind == workload.Put && prev.Outcome == workload.Acknowledged && (!Beyond(prev, rev) || op.Epoch == workload.Old) {
			return Finding{
				Key:  key,
				Kind: KindLostBeforeFault,
				Want: fmt.Sprintf("live: put %s acknowledged at revision %d", prev.Value, prev.Revision),
				Got:  fmt.Sprintf("gone: the delete acknowledged at revision %d deleted nothing", op.Revision),
			}, true
		}
	}
	return Finding{}, false
}
