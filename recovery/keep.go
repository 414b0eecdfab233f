package recovery

import (
	"context"
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
)

// Keep is no recovery: the fault left the cluster serving (an upgrade in
// place), and it must keep every acknowledged write. It waits for the
// cluster to be healthy and to take a write.
type Keep struct{}

func (Keep) Name() string { return "none (cluster kept)" }

func (Keep) NeedsSnapshot() bool { return false }

func (Keep) Recover(ctx context.Context, env Env) (Outcome, error) {
	c := env.Old
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.WaitHealthy(wctx); err != nil {
		return Outcome{}, fmt.Errorf("the kept cluster: %w", err)
	}
	cli, err := c.Client()
	if err != nil {
		return Outcome{}, err
	}
	p := harness.Probe{Client: cli, Key: "kept", Attempt: time.Second}
	if err := p.Once(wctx); err != nil {
		return Outcome{}, fmt.Errorf("the kept cluster refused a write: %w", err)
	}
	return Outcome{Cluster: c, Baseline: EveryWrite}, nil
}
