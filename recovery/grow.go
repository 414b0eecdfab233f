package recovery

import (
	"context"
	"errors"

	"github.com/etcd-drill/etcd-drill/harness"
)

// RestoreSeedAndGrow restores ONE member from the snapshot as a one-member
// cluster, then grows it with MemberAdd one member at a time, each new one
// starting with an empty data dir and catching up from the seed.
type RestoreSeedAndGrow struct{}

func (RestoreSeedAndGrow) Name() string { return "restore-seed-and-grow" }

func (RestoreSeedAndGrow) NeedsSnapshot() bool { return true }

func (RestoreSeedAndGrow) Recover(ctx context.Context, env Env) (Outcome, error) {
	if env.Snapshot.Path == "" {
		return Outcome{}, errors.New("restore-seed-and-grow: the drill took no snapshot")
	}
	env.stopOld()
	d := env.Drill
	seed, err := d.Plan(harness.Layout{Prefix: RestoredPrefix, Dir: "restored", Token: d.Token + "-restored", Size: 1})
	if err != nil {
		return Outcome{}, err
	}
	c, err := env.restoreAndStart(ctx, seed, "the seed")
	if err != nil {
		return Outcome{}, err
	}
	if err := grow(ctx, d, c, RestoredPrefix, 2, env.Size-1, false); err != nil {
		return Outcome{}, err
	}
	return Outcome{Cluster: c, HashChecked: true}, nil
}
