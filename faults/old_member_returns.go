package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// OldMemberReturns starts the first member of the old cluster again on its
// old data dir with its old flags, after a restore, as a host that comes
// back does. It is a second fault: the restored cluster runs beside it. The
// restore must not have given its ports to another member (see
// recovery.RestoreOnOldURLs, which keeps the first member's slot on fresh
// URLs). End kills it.
type OldMemberReturns struct{}

func (OldMemberReturns) Name() string { return "old-member-returns" }

func (OldMemberReturns) Needs() backend.Caps { return backend.Caps{Restart: true} }

// Inject restarts the old cluster's first member, once every old member has
// let go of its data dir and ports.
func (f OldMemberReturns) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	c := env.Cluster
	ms := c.AllMembers()
	if len(ms) == 0 {
		return harness.Effect{}, fmt.Errorf("%s: no old member", f.Name())
	}
	wctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	for _, m := range ms {
		if err := m.Wait(wctx); err != nil {
			return harness.Effect{}, err
		}
	}
	name := c.Members()[0].Name()
	e := harness.Effect{Fault: f.Name(), Members: []string{name}, At: time.Now()}
	if _, err := c.Restart(ctx, name); err != nil {
		return e, fmt.Errorf("start old member %s on its old data dir: %w", name, err)
	}
	e.InForce = time.Since(e.At)
	e.Detail = fmt.Sprintf("old member %s started again on its old data dir and old URLs", name)
	return e, nil
}

// Confirm: the old member was started; what the restored cluster makes of
// it is for the observer.
func (OldMemberReturns) Confirm(_ context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	if len(e.Members) != 1 || env.Cluster.Member(e.Members[0]) == nil {
		return e, fmt.Errorf("old-member-returns: no member was started")
	}
	return e, nil
}

// End kills the old member and waits until it has let go of its data dir.
func (OldMemberReturns) End(ctx context.Context, env Env, e harness.Effect) error {
	for _, name := range e.Members {
		m := env.Cluster.Member(name)
		if m == nil {
			continue
		}
		if err := m.Kill(); err != nil {
			return fmt.Errorf("kill old member %s: %w", name, err)
		}
		wctx, cancel := context.WithTimeout(ctx, releaseTimeout)
		err := m.Wait(wctx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}
