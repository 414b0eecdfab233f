package faults

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// ForcedRestart starts the member of the cluster that is down again on its
// data dir with --force-new-cluster while the others still run, which
// etcd's recovery guide strongly discourages: it "will panic if other
// members from previous cluster are still alive". It is a second fault (after
// one that downed a member), watched while it acts: what it does is the
// hazard. The restarted member is its own cluster (Effect.Started), which End
// kills.
type ForcedRestart struct {
	// Plain restarts the member WITHOUT --force-new-cluster instead: it
	// rejoins its cluster and nothing goes wrong; for tests of what watches.
	Plain bool
}

func (ForcedRestart) Name() string { return "forced-restart" }

// Needs a member restarted on its data dir, and members that may panic
// without taking the harness down.
func (ForcedRestart) Needs() backend.Caps {
	return backend.Caps{Restart: true, SurvivesMemberPanic: true}
}

// How says how the member was restarted, as the effect's detail does.
func (f ForcedRestart) How() string {
	if f.Plain {
		return "without --force-new-cluster"
	}
	return "with --force-new-cluster"
}

// Inject restarts the one member that is down. It is started by hand, not
// as a cluster that must come up healthy: a member that dies at once is an
// outcome here, and stays tracked for its exit and panic.
func (f ForcedRestart) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	c := env.Cluster
	var down []backend.Member
	for _, m := range c.Members() {
		select {
		case <-m.Exited():
			down = append(down, m)
		default:
		}
	}
	if len(down) != 1 {
		return harness.Effect{}, fmt.Errorf("forced-restart: one member must be down, %d are", len(down))
	}
	if len(c.Live()) == 0 {
		return harness.Effect{}, fmt.Errorf("forced-restart: no other member is alive: this is no hazard")
	}
	m := down[0]
	wctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	err := m.Wait(wctx)
	cancel()
	if err != nil {
		return harness.Effect{}, err
	}
	spec, ok := c.Spec(m.Name())
	if !ok {
		return harness.Effect{}, fmt.Errorf("forced-restart: no spec of %s", m.Name())
	}
	spec.ForceNewCluster = !f.Plain
	e := harness.Effect{Fault: f.Name(), Members: []string{m.Name()}, At: time.Now()}
	forced, err := env.Drill.Backend.Start(ctx, spec)
	if err != nil {
		return e, fmt.Errorf("restart %s %s: %w", m.Name(), f.How(), err)
	}
	e.Started = harness.Adopt(env.Drill.Backend, env.Drill.Ports, []backend.MemberSpec{spec}, []backend.Member{forced})
	env.Drill.Track(e.Started)
	e.InForce = time.Since(e.At)
	e.Detail = fmt.Sprintf("%s restarted on its data dir %s while %s ran", m.Name(), f.How(), strings.Join(harness.Names(c.Live()), ", "))
	return e, nil
}

// Confirm: the member was started; what it does then is for the observer.
func (ForcedRestart) Confirm(_ context.Context, _ Env, e harness.Effect) (harness.Effect, error) {
	if e.Started == nil || len(e.Started.AllMembers()) != 1 {
		return e, fmt.Errorf("forced-restart: no member was started")
	}
	return e, nil
}

// End kills the restarted member and waits until it has let go of its data
// dir.
func (ForcedRestart) End(ctx context.Context, _ Env, e harness.Effect) error {
	if e.Started == nil {
		return nil
	}
	return endStarted(ctx, e.Started)
}

// releaseTimeout bounds the wait for a member to let go of its data dir.
const releaseTimeout = 30 * time.Second

// endStarted kills every member of c and waits for each to let go.
func endStarted(ctx context.Context, c *harness.Cluster) error {
	if err := c.Kill(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	for _, m := range c.AllMembers() {
		if err := m.Wait(wctx); err != nil {
			return err
		}
	}
	return nil
}
