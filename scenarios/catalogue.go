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
