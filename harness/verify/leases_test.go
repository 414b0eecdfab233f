package verify

import (
	"testing"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

func TestCheckLeases(t *testing.T) {
	const id = 0x1a
	put := func(key string, rev int64) workload.Op {
		return workload.Op{Writer: 9, Kind: workload.Put, Key: key, Lease: id, Outcome: workload.Acknowledged, Revision: rev}
	}
	revoke := func(o workload.Outcome, rev int64) workload.Op {
		return workload.Op{Writer: 9, Kind: workload.Delete, Key: "/k1", Lease: id, Outcome: o, Revision: rev}
	}
	lease := workload.Lease{ID: id, TTL: 3600, Keys: []string{"/k1", "/k2"}}
	puts := []workload.Op{put("/k1", 10), put("/k2", 11)}
	alive := LeaseState{Exists: true, Keys: []string{"/k2", "/k1"}}
	for _, tc := range []struct {
		name string
		ops  []workload.Op
		got  LeaseState
		want string
	}{
		{"alive with its keys", puts, alive, ""},
		{"alive lease gone", puts, LeaseState{}, KindLeaseLost},
		{"alive with a key missing", puts, LeaseState{Exists: true, Keys: []string{"/k1"}}, KindLeaseKeys},
		{"alive with a key more", puts, LeaseState{Exists: true, Keys: []string{"/k1", "/k2", "/k3"}}, KindLeaseKeys},
		{"revoked below the baseline and gone", append(puts, revoke(workload.Acknowledged, 50)), LeaseState{}, ""},
		{"revoked below the baseline and back", append(puts, revoke(workload.Acknowledged, 50)), alive, KindLeaseResurrected},
		{"revoked above the baseline: back with its keys", append(puts, revoke(workload.Acknowledged, 150)), alive, ""},
		{"revoked above the baseline but gone", append(puts, revoke(workload.Acknowledged, 150)), LeaseState{}, KindLeaseLost},
		{"revoke in doubt: gone", append(puts, revoke(workload.Indeterminate, 0)), LeaseState{}, ""},
		{"revoke in doubt: alive", append(puts, revoke(workload.Indeterminate, 0)), alive, ""},
		{"a put above the baseline is not attached", []workload.Op{put("/k1", 10), put("/k2", 150)}, LeaseState{Exists: true, Keys: []string{"/k1"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckLeases([]workload.Lease{lease, {ID: 0x2b, Short: true}}, tc.ops, 100, map[int64]LeaseState{id: tc.got})
			switch {
			case tc.want == "" && len(got) > 0:
				t.Fatalf("findings %+v, want none", got)
			case tc.want != "" && (len(got) != 1 || got[0].Kind != tc.want):
				t.Fatalf("findings %+v, want one %s", got, tc.want)
			}
		})
	}
}
