package recovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
)

// Heal ends a network partition and waits for the cluster to take writes
// again by itself: no restore, no membership change, and no acknowledged
// write may be lost.
type Heal struct {
	// Timeout bounds the wait for the first write after the heal (default 30 s).
	Timeout time.Duration
}

func (Heal) Name() string { return "heal" }

func (Heal) NeedsSnapshot() bool { return false }

func (h Heal) Recover(ctx context.Context, env Env) (Outcome, error) {
	c := env.Old
	if !c.CanPartition() {
		return Outcome{}, errors.New("heal: this cluster cannot be partitioned, so there is nothing to heal")
	}
	cli, err := c.Client()
	if err != nil {
		return Outcome{}, err
	}
	healed := time.Now()
	if err := c.Heal(ctx); err != nil {
		return Outcome{}, err
	}
	timeout := orDefault(h.Timeout, 30*time.Second)
	p := harness.Probe{Client: cli, Key: "healed", Attempt: 250 * time.Millisecond, Retry: 10 * time.Millisecond}
	t, err := p.Run(ctx, timeout, harness.FirstAck)
	if err != nil {
		return Outcome{}, err
	}
	if t.Acked == 0 {
		return Outcome{}, fmt.Errorf("no write taken %s after the heal: %w", time.Since(healed).Round(time.Millisecond), t.LastErr)
	}
	after := time.Since(healed)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.WaitHealthy(wctx); err != nil {
		return Outcome{}, fmt.Errorf("after the heal: %w", err)
	}
	return Outcome{
		Cluster: c, Baseline: EveryWrite, HealSeconds: after.Seconds(),
		Notes: []string{fmt.Sprintf("the cluster took a write %s after the heal", after.Round(time.Millisecond))},
	}, nil
}
