package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// LoseMember is the permanent loss of one member (a minority): a follower
// killed (see KillFollower), its data dir destroyed. The others keep quorum.
type LoseMember struct{}

func (LoseMember) Name() string { return "lose-member" }

func (LoseMember) Needs() backend.Caps { return backend.Caps{HardKill: true} }

// Inject loses a follower, so that the loss alone, not an election, is drilled.
func (f LoseMember) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	e, err := killFollower(ctx, env.Cluster, f.Name())
	if err != nil {
		return e, err
	}
	if err := wipe(ctx, env.Cluster, e.Members); err != nil {
		return e, err
	}
	e.InForce = time.Since(e.At)
	e.Detail = fmt.Sprintf("killed %s and destroyed its data dir in %s", e.Members[0], e.InForce.Round(time.Microsecond))
	return e, nil
}

// Confirm: the data dir is gone and the others still take writes.
func (LoseMember) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	if err := wiped(env.Cluster, e.Members); err != nil {
		return e, err
	}
	return KillFollower{}.Confirm(ctx, env, e)
}
