package scenarios

import (
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// TestRateOf: each write lands in the bucket of its answer (its sending, if
// it has none), under its outcome and cluster; a long drill widens its
// buckets.
func TestRateOf(t *testing.T) {
	start := time.Now()
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	ops := []workload.Op{
		{Outcome: workload.Acknowledged, Epoch: workload.Old, Sent: at(10), Done: at(20)},
		{Outcome: workload.Acknowledged, Epoch: workload.Old, Sent: at(90), Done: at(120)},
		{Outcome: workload.Failed, Epoch: workload.Old, Sent: at(130), Done: at(150)},
		{Outcome: workload.Indeterminate, Epoch: workload.Old, Sent: at(210)},
		{Outcome: workload.Acknowledged, Epoch: workload.Recovered, Sent: at(250), Done: at(290)},
	}
	r := rateOf(ops, start, at(300))
	if r.BucketSeconds != 0.1 || len(r.Old) != 4 {
		t.Fatalf("buckets %v s, %d of them; want 0.1 s, 4", r.BucketSeconds, len(r.Old))
	}
	for name, tc := range map[string]struct{ got, want []int }{
		"old":           {r.Old, []int{1, 1, 0, 0}},
		"failed":        {r.Failed, []int{0, 1, 0, 0}},
		"indeterminate": {r.Indeterminate, []int{0, 0, 1, 0}},
		"recovered":     {r.Recovered, []int{0, 0, 1, 0}},
	} {
		for i := range tc.want {
			if tc.got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", name, tc.got, tc.want)
				break
			}
		}
	}
	long := rateOf(ops, start, start.Add(20*time.Minute))
	if long.BucketSeconds <= 0.1 || len(long.Old) > maxBuckets {
		t.Errorf("a 20-minute drill: buckets of %v s, %d of them", long.BucketSeconds, len(long.Old))
	}
	if rateOf(nil, start, at(300)) != nil {
		t.Error("no writes: want no rate")
	}
}
