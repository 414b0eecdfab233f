package scenarios

import (
	"time"

	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// maxBuckets bounds the rate series of a long drill: its buckets widen.
const maxBuckets = 3000

// rateOf counts the writes of ops over time, from start to end, in buckets
// of 100 ms (wider for a drill over five minutes): acknowledged by each
// cluster and failed, when answered; indeterminate, when sent.
func rateOf(ops []workload.Op, start, end time.Time) *report.Rate {
	span := end.Sub(start)
	if span <= 0 || len(ops) == 0 {
		return nil
	}
	bucket := 100 * time.Millisecond
	for span/bucket >= maxBuckets {
		bucket *= 2
	}
	n := int(span/bucket) + 1
	r := &report.Rate{BucketSeconds: bucket.Seconds(), Old: make([]int, n), Recovered: make([]int, n), Failed: make([]int, n), Indeterminate: make([]int, n)}
	at := func(t time.Time) int {
		i := int(t.Sub(start) / bucket)
		return min(max(i, 0), n-1)
	}
	for _, op := range ops {
		switch {
		case op.Outcome == workload.Indeterminate:
			r.Indeterminate[at(op.Sent)]++
		case op.Outcome == workload.Failed:
			r.Failed[at(op.Done)]++
		case op.Epoch == workload.Recovered:
			r.Recovered[at(op.Done)]++
		default:
			r.Old[at(op.Done)]++
		}
	}
	return r
}
