// Package scenarios is the catalogue of drills: each scenario is a named
// choice of fault, recovery and expectations. Run executes one.
package scenarios

import (
	"fmt"
	"sort"
	"strings"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// Expect is what must hold after the recovery, beyond "no acknowledged key
// lost, none resurrected".
type Expect struct {
	// QuorumLost: the fault must have broken quorum.
	QuorumLost bool
	// NewClusterID: the recovered cluster must be a new logical cluster.
	NewClusterID bool
	// PanicContains: every member the fault hit (Effect.Members) must have
	// panicked with a message containing this.
	PanicContains string
}

// Scenario is one drill of the catalogue.
type Scenario struct {
	Name        string
	Description string
	Fault       faults.Fault
	Recovery    recovery.Recovery
	Expect      Expect
	// MinMembers is the smallest cluster the scenario makes sense on.
	MinMembers int
}

// Catalogue returns every scenario, sorted by name.
func Catalogue() []Scenario {
	all := []Scenario{
		{
			Name:        "quorum-loss/snapshot-restore",
			Description: "kill a majority, restore every member of a new cluster from a live snapshot, verify the ledger",
			Fault:       faults.KillMajority{},
			Recovery:    recovery.SnapshotRestore{},
			Expect:      Expect{QuorumLost: true, NewClusterID: true},
			MinMembers:  1,
		},
		{
			Name: "wrong-peer-urls/snapshot-restore",
			Description: "MemberUpdate with a peer URL lacking its scheme (raw gRPC): every other member panics (failed NewURLs) " +
				"and panics again on restart; restore a new cluster from a snapshot taken before",
			Fault:      faults.SchemelessPeerURL{},
			Recovery:   recovery.SnapshotRestore{},
			Expect:     Expect{QuorumLost: true, NewClusterID: true, PanicContains: faults.PanicNewURLs},
			MinMembers: 2,
		},
		{
			Name: "wrong-peer-urls-unreachable/snapshot-restore",
			Description: "MemberUpdate a majority to well-formed peer URLs where nothing listens, record whether quorum holds, " +
				"restore a new cluster from a snapshot taken before",
			Fault:      faults.UnreachablePeerURLs{},
			Recovery:   recovery.SnapshotRestore{},
			Expect:     Expect{NewClusterID: true},
			MinMembers: 1,
		},
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// Lookup finds a scenario by name.
func Lookup(name string) (Scenario, error) {
	var names []string
	for _, s := range Catalogue() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(names, ", "))
}
