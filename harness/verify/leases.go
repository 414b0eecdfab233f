package verify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// Findings about leases.
const (
	// KindLeaseLost: a lease alive at the baseline is gone after the
	// recovery.
	KindLeaseLost = "lease-lost"
	// KindLeaseResurrected: a lease revoked at or below the baseline is
	// back.
	KindLeaseResurrected = "lease-resurrected"
	// KindLeaseKeys: a lease holds other keys than the ledger attached.
	KindLeaseKeys = "lease-keys"
	// KindLeaseNotExpired: a lease no one kept alive after the fault did
	// not expire, or left its keys behind.
	KindLeaseNotExpired = "lease-not-expired"
)

// LeaseState is a lease as the recovered cluster shows it.
type LeaseState struct {
	Exists bool
	Keys   []string
}

// CheckLeases compares the long leases with what the recovered cluster
// shows of them, by the ledger's writes up to rev (ops as the baseline says
// they may be held): a lease whose revoke was kept must be gone, one whose
// revoke was not (or that was never revoked) must be there with every key
// attached by an acknowledged put and no other. A revoke in doubt allows
// either. The short lease is CheckExpired's.
func CheckLeases(leases []workload.Lease, ops []workload.Op, rev int64, got map[int64]LeaseState) []Finding {
	var out []Finding
	for _, l := range leases {
		if l.Short {
			continue
		}
		name := fmt.Sprintf("lease %x", l.ID)
		var revoke *workload.Op
		attached := []string{}
		for i, op := range ops {
			if op.Lease != l.ID {
				continue
			}
			if op.Kind == workload.Delete && revoke == nil {
				revoke = &ops[i]
			}
			if op.Kind == workload.Put && op.Outcome == workload.Acknowledged && !Beyond(op, rev) {
				attached = append(attached, op.Key)
			}
		}
		g := got[l.ID]
		switch {
		case revoke != nil && revoke.Outcome == workload.Indeterminate:
		case revoke != nil && revoke.Outcome == workload.Acknowledged && !Beyond(*revoke, rev):
			if g.Exists {
				out = append(out, Finding{Key: name, Kind: KindLeaseResurrected, Want: fmt.Sprintf("revoked at revision %d", revoke.Revision), Got: fmt.Sprintf("alive, keys %s", strings.Join(g.Keys, ","))})
			}
		case !g.Exists:
			out = append(out, Finding{Key: name, Kind: KindLeaseLost, Want: fmt.Sprintf("alive (TTL %ds), keys %s", l.TTL, strings.Join(attached, ",")), Got: "no such lease"})
		default:
			have := slices.Sorted(slices.Values(g.Keys))
			want := slices.Sorted(slices.Values(attached))
			if !slices.Equal(have, want) {
				out = append(out, Finding{Key: name, Kind: KindLeaseKeys, Want: "keys " + strings.Join(want, ","), Got: "keys " + strings.Join(have, ",")})
			}
		}
	}
	return out
}
