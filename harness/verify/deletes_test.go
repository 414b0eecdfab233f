package verify

import (
	"testing"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

func TestLostBeforeFault(t *testing.T) {
	put := func(seq int, rev int64, o workload.Outcome) workload.Op {
		return workload.Op{Writer: 1, Seq: seq, Kind: workload.Put, Key: "k", Value: "v", Outcome: o, Revision: rev}
	}
	del := func(seq int, rev, deleted int64, o workload.Outcome) workload.Op {
		return workload.Op{Writer: 1, Seq: seq, Kind: workload.Delete, Key: "k", Outcome: o, Revision: rev, Deleted: deleted}
	}
	ack, ind, fail := workload.Acknowledged, workload.Indeterminate, workload.Failed
	recovered := func(op workload.Op) workload.Op { op.Epoch = workload.Recovered; return op }
	for _, tc := range []struct {
		name string
		ops  []workload.Op
		want int
	}{
		{"a put then a delete that deleted it", []workload.Op{put(1, 10, ack), del(2, 11, 1, ack)}, 0},
		{"a put then a delete that deleted nothing", []workload.Op{put(1, 10, ack), del(2, 11, 0, ack)}, 1},
		{"in ledger order, not slice order", []workload.Op{del(2, 11, 0, ack), put(1, 10, ack)}, 1},
		{"an indeterminate delete before may have deleted it", []workload.Op{put(1, 10, ack), del(2, 0, 0, ind), del(3, 12, 0, ack)}, 0},
		{"a failed put before: the key was never known live", []workload.Op{put(1, 0, fail), del(2, 11, 0, ack)}, 0},
		{"an indeterminate put before: it may not have been applied", []workload.Op{put(1, 0, ind), del(2, 11, 0, ack)}, 0},
		{"a delete of a key never written", []workload.Op{del(1, 11, 0, ack)}, 0},
		{"two deletes in a row, the second finds nothing", []workload.Op{put(1, 10, ack), del(2, 11, 1, ack), del(3, 12, 0, ack)}, 0},
		{"an unanswered delete is no finding", []workload.Op{put(1, 10, ack), del(2, 0, 0, fail)}, 0},
		{"the old cluster's put above the baseline is not in the recovered one", []workload.Op{put(1, 120, ack), recovered(del(2, 130, 0, ack))}, 0},
		{"the old cluster's put at the baseline is in the recovered one", []workload.Op{put(1, 100, ack), recovered(del(2, 130, 0, ack))}, 1},
		{"a put and a delete of the recovered cluster", []workload.Op{recovered(put(1, 110, ack)), recovered(del(2, 130, 0, ack))}, 1},
		{"the old cluster lost it above the baseline: still a finding", []workload.Op{put(1, 120, ack), del(2, 121, 0, ack)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := LostBeforeFault(tc.ops, 100)
			if len(got) != tc.want {
				t.Fatalf("findings %+v, want %d", got, tc.want)
			}
			if tc.want == 1 && (got[0].Key != "k" || got[0].Kind != KindLostBeforeFault) {
				t.Fatalf("finding %+v", got[0])
			}
		})
	}
}

func TestPageKeys(t *testing.T) {
	for _, tc := range []struct {
		value int
		want  int64
	}{
		{64, 5000},
		{4096, 5000},
		{64 << 10, 510},
		{1 << 20, 31},
		{1 << 30, 1},
	} {
		if got := PageKeys(tc.value); got != tc.want {
			t.Errorf("PageKeys(%d) = %d, want %d", tc.value, got, tc.want)
		}
		if got := PageKeys(tc.value); got > 1 && got*int64(tc.value) > pageBytes {
			t.Errorf("PageKeys(%d) = %d: a page of %d bytes passes %d", tc.value, got, got*int64(tc.value), pageBytes)
		}
	}
}
