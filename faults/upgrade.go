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

// RollingUpgrade upgrades the cluster in place along the drill's Path, one
// hop at a time, and within a hop one member at a time: stop the member,
// swap its binary, start it on the same data dir, wait until the cluster is
// healthy, check the ledger. The member in the middle of each roll is
// killed (SIGKILL) instead of stopped, as a machine lost during a
// maintenance is, unless Graceful. Writers go on throughout; quorum is
// never lost. Between hops the cluster version must have moved (etcd takes
// one minor line at a time), and the hop's writes are checked. Confirm
// proves the last hop took: every member says it runs the last version,
// and the cluster version has moved to it, which it may only once every
// member runs it.
type RollingUpgrade struct {
	// Skip leaves the member at this index (1-based) on the old version in
	// the last hop: a roll gone wrong, for the tests (0: none).
	Skip int
	// Settle bounds the wait for the cluster version to move after the
	// last member of a hop (default 30 s: the leader looks every few
	// seconds).
	Settle time.Duration
	// Graceful stops every member; none is killed.
	Graceful bool
}

func (RollingUpgrade) Name() string { return "rolling-upgrade" }

func (RollingUpgrade) Needs() backend.Caps { return backend.Caps{HardKill: true, Restart: true} }

func (u RollingUpgrade) Inject(ctx context.Context, env Env) (e harness.Effect, err error) {
	path := env.Drill.Path
	e = harness.Effect{Fault: u.Name(), At: time.Now()}
	if len(path) < 2 {
		return e, errors.New("rolling-upgrade: no version to upgrade to")
	}
	var steps []string
	defer func() {
		e.InForce = time.Since(e.At)
		e.Detail = fmt.Sprintf("%s in %s: %s", pathString(path), e.InForce.Round(time.Millisecond), strings.Join(steps, "; "))
	}()
	for h := 1; h < len(path); h++ {
		from, to := path[h-1].Version, path[h].Version
		r := roll{from: from, to: to, hold: from, kill: -1, skip: -1}
		if len(path) > 2 {
			r.stage = fmt.Sprintf("hop %d (%s to %s): ", h, from, to)
		}
		if !u.Graceful {
			r.kill = len(env.Cluster.Members()) / 2
		}
		last := h == len(path)-1
		if last {
			r.skip = u.Skip - 1
		}
		did, err := r.run(ctx, env, &e)
		steps = append(steps, did...)
		if err != nil {
			return e, err
		}
		if last {
			break
		}
		took, err := waitClusterVersion(ctx, env.Cluster, to, settle(u.Settle))
		if err != nil {
			return e, fmt.Errorf("%s: after %s: %w", FindingNotUpgraded, strings.TrimSuffix(r.stage, ": "), err)
		}
		steps = append(steps, fmt.Sprintf("%scluster version %s.0 %s after its last member", r.stage, bins.MinorLine(to), took.Round(time.Millisecond)))
		if err := env.checkpoint(ctx, Stage{Name: fmt.Sprintf("after hop %d: every member on %s", h, to), Writes: env.Drill.HopWrites}); err != nil {
			return e, err
		}
	}
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
	path := env.Drill.Path
	return confirmOn(ctx, env, e, path[len(path)-1].Version, settle(u.Settle))
}

// FindingMemberDown: a member did not come up on the version it was moved
// to: it exited (a panic, a refusal to start) or never became healthy.
const FindingMemberDown = "member-down"

// MemberDown is a member that did not come up on a new version. The runner
// records it, with the member's exit and log, as an upgrade finding.
type MemberDown struct {
	Member, Version string
	// Stage is where in the path it happened ("hop 2 (3.6.17 to 3.7.3)").
	Stage string
	Err   error
}

func (e *MemberDown) Error() string {
	return fmt.Sprintf("%s: member %s did not come up on etcd %s%s: %v", FindingMemberDown, e.Member, e.Version, inStage(e.Stage), e.Err)
}

func (e *MemberDown) Unwrap() error { return e.Err }

func inStage(s string) string {
	if s = strings.TrimSuffix(s, ": "); s != "" {
		return " in " + s
	}
	return ""
}

// roll moves every member of the cluster from one version to another, one
// at a time, checking the ledger after each. While it rolls, the cluster
// version must stay at hold's line.
type roll struct {
	from, to, hold string
	// stage prefixes what it says ("hop 1 (...): ", "down: ").
	stage string
	// kill is the index of the member killed instead of stopped, skip of
	// the one left on from (-1: none).
	kill, skip int
}

func (r roll) run(ctx context.Context, env Env, e *harness.Effect) ([]string, error) {
	c := env.Cluster
	ms := c.Members()
	var steps []string
	for i, m := range ms {
		name := m.Name()
		if i == r.skip {
			steps = append(steps, r.stage+name+" left on "+r.from)
			continue
		}
		how := "stopped"
		if i == r.kill {
			how = "killed"
			if err := m.Kill(); err != nil {
				return steps, fmt.Errorf("kill member %s: %w", name, err)
			}
		} else if err := m.Stop(ctx); err != nil {
			return steps, fmt.Errorf("stop member %s: %w", name, err)
		}
		e.Members = appendNew(e.Members, name)
		cv := clusterVersion(ctx, c)
		began := time.Now()
		_, err := c.RestartOn(ctx, name, r.to)
		if err == nil {
			hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err = c.WaitHealthy(hctx)
			cancel()
		}
		if err != nil {
			steps = append(steps, fmt.Sprintf("%s%s %s, did not come up on %s", r.stage, name, how, r.to))
			return steps, &MemberDown{Member: name, Version: r.to, Stage: r.stage, Err: err}
		}
		steps = append(steps, fmt.Sprintf("%s%s %s and started on %s, healthy in %s (cluster version %s while it was down)", r.stage, name, how, r.to, time.Since(began).Round(time.Millisecond), cv))
		if i+1 < len(ms) {
			// While a member still runs the old version, the cluster
			// version must stay where it was.
			if v := clusterVersion(ctx, c); v != "" && bins.MinorLine(v) != bins.MinorLine(r.hold) {
				return steps, fmt.Errorf("%s: cluster version %s after moving %s to %s, with members still on %s", FindingClusterVersionEarly, v, name, r.to, r.from)
			}
		}
		if err := env.checkpoint(ctx, Stage{Name: fmt.Sprintf("%s%s on %s", r.stage, name, r.to)}); err != nil {
			return steps, err
		}
	}
	return steps, nil
}

// confirmOn proves every member runs version and the cluster version has
// moved to its line, within settle.
func confirmOn(ctx context.Context, env Env, e harness.Effect, version string, settle time.Duration) (harness.Effect, error) {
	c := env.Cluster
	vs, err := c.Versions(ctx)
	if err != nil {
		return e, err
	}
	for _, m := range c.Members() {
		if vs[m.Name()] != version {
			return e, fmt.Errorf("%s: member %s runs %s after the roll, want %s", FindingNotUpgraded, m.Name(), vs[m.Name()], version)
		}
	}
	took, err := waitClusterVersion(ctx, c, version, settle)
	if err != nil {
		return e, fmt.Errorf("%s: %w", FindingNotUpgraded, err)
	}
	e.Detail += fmt.Sprintf("; every member runs %s, cluster version %s.0 %s after the last", version, bins.MinorLine(version), took.Round(time.Millisecond))
	return e, nil
}

// waitClusterVersion waits until the cluster version is version's line
// (X.Y.0), up to settle, and says how long that took.
func waitClusterVersion(ctx context.Context, c *harness.Cluster, version string, settle time.Duration) (time.Duration, error) {
	want := bins.MinorLine(version) + ".0"
	wctx, cancel := context.WithTimeout(ctx, settle)
	defer cancel()
	start := time.Now()
	for {
		v := clusterVersion(wctx, c)
		if v == want {
			return time.Since(start), nil
		}
		select {
		case <-wctx.Done():
			return time.Since(start), fmt.Errorf("cluster version %s %s after the roll, want %s", v, settle, want)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// settle is d, or 30 s if unset.
func settle(d time.Duration) time.Duration {
	if d <= 0 {
		return 30 * time.Second
	}
	return d
}

// pathString is "3.5.36 -> 3.6.17 -> 3.7.3".
func pathString(path []harness.Hop) string {
	vs := make([]string, len(path))
	for i, h := range path {
		vs[i] = h.Version
	}
	return strings.Join(vs, " -> ")
}

func appendNew(names []string, name string) []string {
	for _, n := range names {
		if n == name {
			return names
		}
	}
	return append(names, name)
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
