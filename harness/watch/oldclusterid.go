package watch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/observe"
)

// OldClusterID looks at a cluster restored on the old members' peer URLs:
// etcd derives member IDs from the peer URLs and the token, and the cluster
// ID from the member IDs, so a restore with the OLD token is the old logical
// cluster again. It reads the old cluster ID and member IDs from the old
// members' WALs and compares them with the restored cluster's; the same
// cluster ID is the hazard HazardOldClusterID. Another ID means the hazard
// did not show, and Observe fails.
type OldClusterID struct{}

func (OldClusterID) Name() string { return "old-cluster-id" }

func (OldClusterID) Observe(ctx context.Context, v View, _ harness.Effect, _ func(context.Context) error) (Observation, error) {
	c := v.Recovered
	if c == nil {
		return Observation{}, errors.New("old-cluster-id: no restored cluster to look at")
	}
	old := map[string]observe.Identity{}
	oldID := uint64(0)
	for _, m := range v.Cluster.Members() {
		if !observe.HasWAL(m.DataDir()) {
			continue // a data dir the fault destroyed
		}
		id, err := observe.WALIdentity(m.DataDir())
		if err != nil {
			return Observation{}, fmt.Errorf("read the WAL of old member %s: %w", m.Name(), err)
		}
		if oldID != 0 && id.Cluster != oldID {
			return Observation{}, fmt.Errorf("the old members' WALs name two cluster IDs, %016x and %016x", oldID, id.Cluster)
		}
		old[m.Name()], oldID = id, id.Cluster
	}
	if len(old) == 0 {
		return Observation{}, errors.New("no old member has a WAL left to read the old cluster ID from")
	}
	cli, err := c.Client()
	if err != nil {
		return Observation{}, err
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := cli.MemberList(lctx)
	cancel()
	if err != nil {
		return Observation{}, fmt.Errorf("member list of the restored cluster: %w", err)
	}
	newID := resp.Header.ClusterId
	sameIDs := 0
	for _, m := range resp.Members {
		if id, ok := old[m.Name]; ok && id.Member == m.ID {
			sameIDs++
		}
	}
	if newID != oldID {
		return Observation{}, fmt.Errorf("restore-old-token: restored with token %q on the old peer URLs, the cluster ID is %016x, not the old %016x: hazard %s not found",
			c.Token, newID, oldID, HazardOldClusterID)
	}
	return Observation{Hazard: &harness.Hazard{Name: HazardOldClusterID, Detail: fmt.Sprintf(
		"restored with the OLD initial-cluster-token %q on the old peer URLs, the new cluster has the old cluster ID %016x "+
			"(read from the old members' WALs), and %d of %d members have their old member IDs: it is the old logical cluster again. "+
			"etcd tells a peer of another cluster apart only by its cluster ID, so an old member started by mistake on its old data dir "+
			"would meet no cluster ID mismatch (the rejection hazard/old-member-rejoins shows after a restore with a new token): "+
			"its member ID is in the restored membership, so it would be taken for that member, old log and all; restore with a new token",
		c.Token, newID, sameIDs, len(resp.Members))}}, nil
}
