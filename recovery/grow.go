package recovery

import (
	"context"
	"errors"
	"fmt"

	"github.com/etcd-drill/etcd-drill/harness"
)

// RestoreSeedAndGrow restores ONE member from the snapshot as a one-member
// cluster, then grows it with MemberAdd one member at a time, each new one
// starting with an empty data dir and catching up from the seed.
type RestoreSeedAndGrow struct{}

func (RestoreSeedAndGrow) Name() string { return "restore-seed-and-grow" }

func (RestoreSeedAndGrow) NeedsSnapshot() bool { return true }

func (RestoreSeedAndGrow) Recover(ctx context.Context, d *harness.Drill) (*harness.Cluster, error) {
	if d.Snapshot.Path == "" {
		return nil, errors.New("restore-seed-and-grow: the drill took no snapshot")
	}
	stopOld(d)
	seed, err := d.Layout(RestoredPrefix, "restored", d.Token+"-restored", 1)
	if err != nil {
		return nil, err
	}
	if err := RestoreAll(d, seed, false, 0); err != nil {
		return nil, err
	}
	c, err := d.StartMembers(ctx, seed)
	if err != nil {
		return nil, fmt.Errorf("start the seed: %w", err)
	}
	if err := grow(ctx, d, c, RestoredPrefix, 2, d.Size-1, false); err != nil {
		return nil, err
	}
	return c, nil
}
