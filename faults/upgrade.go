package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/bins"
)

// RollingUpgrade upgrades the cluster in place, one member at a time, to
// the drill's UpgradeTo version: stop the member, swap its binary, start it
// on the same data dir, wait until the cluster is healthy. The member in
// the middle of the roll is killed (SIGKILL) instead of stopped, as a
// machine lost during a maintenance is. Writers go on throughout; quorum
// is never lost. Confirm proves the roll took: every member says it runs
// the new version, and the cluster version has moved to it, which it may
// only once every member runs it.
type RollingUpgrade struct {
	// Skip leaves the member at this index (1-based) on the old version:
	// a roll gone wrong, for the tests (0: none).
	Skip int
	// Settle bounds the wait for the cluster version to move after the
	// last member (default 30 s: the leader looks every few seconds).
	Settle time.Duration
}

func (RollingUpgrade) Name() string { return "rolling-upgrade" }

func (RollingUpgrade) Needs() backend.Caps { return backend.Caps{HardKill: true, Restart: true} }

func (u RollingUpgrade) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	c, to := env.Cluster, env.Drill.UpgradeTo
	e := harness.Effect{Fault: u.Name(), At: time.Now()}
	if to == "" {
		return e, errors.New("rolling-upgrade: no version to upgrade to")
	}
	from := env.Drill.Backend.EtcdVersion()
	ms := c.Members()
	mid := len(ms) / 2
	var steps []string
	for i, m := range ms {
		name := m.Name()
		if i+1 == u.Skip {
			steps = append(steps, name+" left on "+from)
			continue
		}
		how := "stopped"
		if i == mid {
			how = "killed"
			if err := m.Kill(); err != nil {
				return e, fmt.Errorf("kill member %s: %w", name, err)
			}
		} else if err := m.Stop(ctx); err != nil {
			return e, fmt.Errorf("stop member %s: %w", name, err)
		}
		e.Members = append(e.Members, name)
		cv := clusterVersion(ctx, c)
		if _, err := c.RestartOn(ctx, name, to); err != nil {
			return e, fmt.Errorf("upgrade member %s to %s: %w", name, to, err)
		}
		hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.WaitHealthy(hctx)
		cancel()
		if err != nil {
			return e, fmt.Errorf("after upgrading member %s to %s: %w", name, to, err)
		}
		steps = append(steps, fmt.Sprintf("%s %s and started on %s (cluster version %s while it was down)", name, how, to, cv))
		if i+1 < len(ms) {
			// While a member still runs the old version, the cluster
			// version must stay the old one.
			if v := clusterVersion(ctx, c); v != "" && bins.MinorLine(v) != bins.MinorLine(from) {
				return e, fmt.Errorf("%s: cluster version %s after upgrading %s, with members still on %s", FindingClusterVersionEarly, v, name, from)
			}
		}
	}
	e.InForce = time.Since(e.At)
	e.Detail = fmt.Sprintf("rolled %d members from %s to %s in %s: %s", len(e.Members), from, to, e.InForce.Round(time.Millisecond), strings.Join(steps, "; "))
	return e, nil
}

// FindingClusterVersionEarly: the cluster version moved while a member
// still ran the old version; FindingNotUpgraded: after the roll, a member
// does not run the new version, or the cluster version did not follow.
const (
	FindingClusterVersionEarly = "cluster-version-early"
	FindingNotUpgraded         = "not-upgraded"
)

func (u RollingUpgrade) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	c, to := env.Cluster, env.Drill.UpgradeTo
	vs, err := c.Versions(ctx)
	if err != nil {
		return e, err
	}
	for _, m := range c.Members() {
		if vs[m.Name()] != to {
			return e, fmt.Errorf("%s: member %s runs %s after the roll, want %s", FindingNotUpgraded, m.Name(), vs[m.Name()], to)
		}
	}
	want := bins.MinorLine(to) + ".0"
	settle := u.Settle
	if settle <= 0 {
		settle = 30 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, settle)
	defer cancel()
	start := time.Now()
	for {
		v := clusterVersion(wctx, c)
		if v == want {
			e.Detail += fmt.Sprintf("; every member runs %s, cluster version %s %s after the last", to, v, time.Since(start).Round(time.Millisecond))
			return e, nil
		}
		select {
		case <-wctx.Done():
			return e, fmt.Errorf("%s: cluster version %s %s after the roll, want %s", FindingNotUpgraded, v, settle, want)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// clusterVersion is the cluster version a live member reports ("" if none
// answers).
func clusterVersion(ctx context.Context, c *harness.Cluster) string {
	for _, m := range c.Live() {
		vctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		v, err := harness.ClusterVersion(vctx, m)
		cancel()
		if err == nil && v != "" {
			return v
		}
	}
	return ""
}
