package faults

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// LoseDisks is a permanent failure of a majority: floor(N/2)+1 members are
// killed (the leader first) and their data dirs destroyed.
type LoseDisks struct{}

func (LoseDisks) Name() string { return "lose-disks" }

func (LoseDisks) Needs() backend.Caps { return backend.Caps{HardKill: true} }

func (LoseDisks) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	e, err := KillMajority{}.Inject(ctx, env)
	e.Fault = "lose-disks"
	if err != nil {
		return e, err
	}
	if err := wipe(ctx, env.Cluster, e.Members); err != nil {
		return e, err
	}
	e.InForce = time.Since(e.At)
	e.Detail += "; their data dirs destroyed"
	return e, nil
}

// Confirm: the data dirs are gone and the survivors take no write.
func (LoseDisks) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	if err := wiped(env.Cluster, e.Members); err != nil {
		return e, err
	}
	return KillMajority{}.Confirm(ctx, env, e)
}

// wipe waits for each named member to let go of its files, then removes its
// data dir.
func wipe(ctx context.Context, c *harness.Cluster, names []string) error {
	for _, name := range names {
		m := c.Member(name)
		if m == nil {
			return fmt.Errorf("no member %s", name)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := m.Wait(wctx)
		cancel()
		if err != nil {
			return err
		}
		if err := os.RemoveAll(m.DataDir()); err != nil {
			return fmt.Errorf("destroy data dir of %s: %w", name, err)
		}
	}
	return nil
}

func wiped(c *harness.Cluster, names []string) error {
	var left []string
	for _, name := range names {
		if m := c.Member(name); m != nil {
			if _, err := os.Stat(m.DataDir()); err == nil {
				left = append(left, m.DataDir())
			}
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("data dirs still there: %s", strings.Join(left, ", "))
	}
	return nil
}
