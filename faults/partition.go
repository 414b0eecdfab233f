package faults

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// PartitionMajority black-holes the peer traffic of floor(N/2)+1 members
// (the leader first) through the proxies in front of their peer listeners:
// they reach no peer and no peer reaches them, so no side has quorum. The
// members keep running and keep their data; Heal lets the traffic through.
type PartitionMajority struct{}

func (PartitionMajority) Name() string { return "partition-majority" }

// Needs peer proxies; the harness lays them out for any backend.
func (PartitionMajority) Needs() backend.Caps { return backend.Caps{Partition: true} }

func (PartitionMajority) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	c := env.Cluster
	live := c.Live()
	leader := ""
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	if l, err := c.Leader(lctx); err == nil {
		leader = l.Name()
	}
	cancel()
	victims := harness.Names(Victims(live, leader, Majority(len(live))))
	e := harness.Effect{Fault: "partition-majority", Members: victims, At: time.Now()}
	if err := c.Isolate(ctx, victims...); err != nil {
		return e, err
	}
	e.InForce = time.Since(e.At)
	e.Detail = fmt.Sprintf("cut the peer traffic of %s of %d (leader %s)", strings.Join(victims, ", "), len(live), orNone(leader))
	return e, nil
}

// Confirm: no member takes a write for three election timeouts, and every
// member is still running (a partition kills nobody).
func (PartitionMajority) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	c := env.Cluster
	if n, all := len(c.Live()), len(c.Members()); n != all {
		return e, fmt.Errorf("%d of %d members died in the partition", all-n, all)
	}
	if err := NoWriteFor(ctx, c, QuorumLossWindow(c)); err != nil {
		return e, err
	}
	e.QuorumLost = true
	e.Detail += fmt.Sprintf("; quorum lost: no member took a write in %s", QuorumLossWindow(c))
	return e, nil
}
