package recovery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// RecoverOldMajority brings back the old members of a cluster after a member
// was forced into a cluster of its own beside them: the old members hold
// every acknowledged write. Old members that shut down by themselves (etcd
// told them they were removed, and to remove their data dirs; they are
// intact) are started again on their data dirs; the killed member, whose
// forced incarnation is gone, is removed and replaced by a new one (added as
// a learner and promoted). No acknowledged write may be lost.
type RecoverOldMajority struct{}

func (RecoverOldMajority) Name() string { return "recover-old-majority" }

func (RecoverOldMajority) NeedsSnapshot() bool { return false }

// Needs members started again on their data dirs.
func (RecoverOldMajority) Needs() backend.Caps { return backend.Caps{Restart: true} }

func (RecoverOldMajority) Recover(ctx context.Context, env Env) (Outcome, error) {
	c := env.Old
	var restarted, replaced []string
	for _, o := range c.Members() {
		select {
		case <-o.Exited():
		default:
			continue
		}
		x := o.ExitStatus()
		switch {
		case x.Killed:
			replaced = append(replaced, o.Name())
			continue
		case x.Panic != "":
			return Outcome{}, fmt.Errorf("%s: old member %s panicked (%s): the old majority cannot be started again", RecoverOldMajority{}.Name(), o.Name(), x.Panic)
		}
		if _, err := c.Restart(ctx, o.Name()); err != nil {
			return Outcome{}, fmt.Errorf("start old member %s again: %w", o.Name(), err)
		}
		restarted = append(restarted, o.Name())
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := c.WaitHealthy(hctx)
	cancel()
	if err != nil {
		return Outcome{}, fmt.Errorf("the old majority %s: %w", strings.Join(harness.Names(c.Live()), ", "), err)
	}
	for _, name := range replaced {
		if err := harness.MembershipOf(c).Remove(ctx, name); err != nil {
			return Outcome{}, err
		}
	}
	if err := grow(ctx, env.Drill, c, ReplacementPrefix, 1, len(replaced), true); err != nil {
		return Outcome{}, err
	}
	kept := "kept running"
	if len(restarted) > 0 {
		kept = "started again on their data dirs: " + strings.Join(restarted, ", ")
	}
	return Outcome{
		Cluster:  c,
		Baseline: Baseline{Revision: harness.AllWrites, Why: "every acknowledged write (the old majority's data dirs, the forced member replaced)"},
		Notes:    []string{fmt.Sprintf("recovered: the old majority (%s), %s killed, removed and replaced by a new member", kept, strings.Join(replaced, ", "))},
	}, nil
}
