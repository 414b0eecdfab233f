package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// KillFollower kills one follower at once; the others keep quorum and its
// data dir stays as it was.
type KillFollower struct{}

func (KillFollower) Name() string { return "kill-follower" }

func (KillFollower) Needs() backend.Caps { return backend.Caps{HardKill: true} }

// Inject kills a follower (the last live member that does not lead), so
// that the cluster keeps its leader and its quorum.
func (f KillFollower) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	e, err := killFollower(ctx, env.Cluster, f.Name())
	if err != nil {
		return e, err
	}
	e.Detail = fmt.Sprintf("killed follower %s in %s, data dir kept", e.Members[0], e.InForce.Round(time.Microsecond))
	return e, nil
}

// killFollower kills the last live member that does not lead, for the fault
// called name.
func killFollower(ctx context.Context, c *harness.Cluster, name string) (harness.Effect, error) {
	live := c.Live()
	if len(live) < 3 {
		return harness.Effect{}, fmt.Errorf("%s needs at least 3 live members to keep quorum, have %d", name, len(live))
	}
	victim := live[len(live)-1]
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	if l, err := c.Leader(lctx); err == nil && l.Name() == victim.Name() {
		victim = live[0]
	}
	cancel()
	e := harness.Effect{Fault: name, Members: []string{victim.Name()}, At: time.Now()}
	if err := victim.Kill(); err != nil {
		return e, fmt.Errorf("kill member %s: %w", victim.Name(), err)
	}
	e.InForce = time.Since(e.At)
	return e, nil
}

// Confirm: the follower has exited and the others still take writes.
func (KillFollower) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	c := env.Cluster
	for _, name := range e.Members {
		m := c.Member(name)
		if m == nil {
			return e, fmt.Errorf("no member %s", name)
		}
		select {
		case <-m.Exited():
		default:
			return e, fmt.Errorf("member %s still running after kill", name)
		}
	}
	// NoWriteFor fails as soon as a write is taken: here that is the proof.
	err := NoWriteFor(ctx, c, QuorumLossWindow(c))
	switch {
	case err == nil:
		return e, fmt.Errorf("the others lost quorum after losing one member (%s)", strings.Join(e.Members, ", "))
	case !errors.Is(err, ErrQuorumKept):
		return e, err
	}
	e.Detail += "; the others kept quorum"
	return e, nil
}
