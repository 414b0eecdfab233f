package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/bins"
)

// Downgrade takes the cluster one minor line down by etcd's own procedure,
// then back up, under live traffic: `etcdctl downgrade validate` and
// `enable` with the target line (the running version's etcdctl), a wait
// for the cluster version to drop to it, the members swapped to the older
// binary one at a time (the ledger checked after each), a wait for etcd to
// end the downgrade (the leader does once every member runs the target),
// then the members swapped back to the newer binary one at a time, the
// middle one killed. Path is [from, to]: to is one line below from.
// Confirm proves the way back up took: every member on from, the cluster
// version back at its line.
type Downgrade struct {
	// Settle bounds each wait on the cluster: its version to drop, the
	// downgrade to end, its version to rise (default 30 s).
	Settle time.Duration
}

func (Downgrade) Name() string { return "downgrade" }

func (Downgrade) Needs() backend.Caps { return backend.Caps{HardKill: true, Restart: true} }

// FindingDowngradeRefused: etcd refused to validate or enable the
// downgrade; FindingDowngradeNotDone: the cluster version did not drop, or
// etcd did not end the downgrade once every member ran the target.
const (
	FindingDowngradeRefused = "downgrade-refused"
	FindingDowngradeNotDone = "downgrade-not-done"
)

func (d Downgrade) Inject(ctx context.Context, env Env) (e harness.Effect, err error) {
	path, c := env.Drill.Path, env.Cluster
	e = harness.Effect{Fault: d.Name(), At: time.Now()}
	if len(path) != 2 {
		return e, errors.New("downgrade: want a path of two versions, from and to")
	}
	from, to := path[0], path[1]
	var steps []string
	defer func() {
		e.InForce = time.Since(e.At)
		e.Detail = fmt.Sprintf("%s -> %s -> %s in %s: %s", from.Version, to.Version, from.Version, e.InForce.Round(time.Millisecond), strings.Join(steps, "; "))
	}()
	target := bins.MinorLine(to.Version)
	eps := strings.Join(harness.Endpoints(c.Live()), ",")
	for _, action := range []string{"validate", "enable"} {
		out, err := etcdctl(ctx, from.Bins.Etcdctl, "--endpoints", eps, "downgrade", action, target)
		if err != nil {
			return e, fmt.Errorf("%s: etcdctl %s downgrade %s %s: %w", FindingDowngradeRefused, from.Version, action, target, err)
		}
		steps = append(steps, fmt.Sprintf("downgrade %s %s: %s", action, target, out))
	}
	took, err := waitClusterVersion(ctx, c, to.Version, settle(d.Settle))
	if err != nil {
		return e, fmt.Errorf("%s: after downgrade enable %s: %w", FindingDowngradeNotDone, target, err)
	}
	steps = append(steps, fmt.Sprintf("cluster version %s.0 %s after enable", target, took.Round(time.Millisecond)))
	down := roll{from: from.Version, to: to.Version, hold: to.Version, kill: -1, skip: -1, stage: "down: "}
	did, err := down.run(ctx, env, &e)
	steps = append(steps, did...)
	if err != nil {
		return e, err
	}
	took, err = waitDowngradeDone(ctx, c, settle(d.Settle))
	if err != nil {
		return e, fmt.Errorf("%s: every member runs %s: %w", FindingDowngradeNotDone, to.Version, err)
	}
	steps = append(steps, fmt.Sprintf("etcd ended the downgrade %s after the last member", took.Round(time.Millisecond)))
	if err := env.checkpoint(ctx, Stage{Name: "downgraded: every member on " + to.Version, Writes: env.Drill.HopWrites}); err != nil {
		return e, err
	}
	// Back up, as after a downgrade done to roll back a bad upgrade: the
	// middle member killed, as a machine lost during the maintenance.
	up := roll{from: to.Version, to: from.Version, hold: to.Version, kill: len(c.Members()) / 2, skip: -1, stage: "up: "}
	did, err = up.run(ctx, env, &e)
	steps = append(steps, did...)
	return e, err
}

func (d Downgrade) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	return confirmOn(ctx, env, e, env.Drill.Path[0].Version, settle(d.Settle))
}

// waitDowngradeDone waits until no live member reports a downgrade in
// progress (its status's downgrade info), up to settle.
func waitDowngradeDone(ctx context.Context, c *harness.Cluster, settle time.Duration) (time.Duration, error) {
	wctx, cancel := context.WithTimeout(ctx, settle)
	defer cancel()
	start := time.Now()
	last := errors.New("no member answered")
	for {
		enabled := false
		answered := 0
		for _, m := range c.Live() {
			cli, err := c.Client(m)
			if err != nil {
				continue
			}
			sctx, scancel := context.WithTimeout(wctx, 2*time.Second)
			st, err := cli.Status(sctx, m.ClientURL())
			scancel()
			if err != nil {
				last = fmt.Errorf("status of %s: %w", m.Name(), err)
				continue
			}
			answered++
			if di := st.DowngradeInfo; di != nil && di.Enabled {
				enabled = true
				last = fmt.Errorf("%s still reports a downgrade to %s in progress", m.Name(), di.TargetVersion)
			}
		}
		if answered > 0 && !enabled {
			return time.Since(start), nil
		}
		select {
		case <-wctx.Done():
			return time.Since(start), fmt.Errorf("after %s: %w", settle, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// etcdctl runs an etcdctl command and returns its output, trimmed; an error
// carries what it said.
func etcdctl(ctx context.Context, path string, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(cctx, path, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	said := strings.TrimSpace(out.String())
	if len(said) > 2000 {
		said = said[:2000] + "..."
	}
	if err != nil {
		return said, fmt.Errorf("%s %s: %w: %s", path, strings.Join(args, " "), err, said)
	}
	return said, nil
}
