package recovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// ForceNewCluster is the recovery guide's other way back: restart the most
// up-to-date survivor with --force-new-cluster, which makes it a one-member
// cluster keeping its data (and the cluster ID), then add the others back one
// at a time as new members with empty data dirs. What the survivor had
// applied is what the cluster keeps.
type ForceNewCluster struct{}

func (ForceNewCluster) Name() string { return "force-new-cluster" }

func (ForceNewCluster) NeedsSnapshot() bool { return false }

// Needs the survivor restarted on its data dir.
func (ForceNewCluster) Needs() backend.Caps { return backend.Caps{Restart: true} }

// GrownPrefix names members added back after a force-new-cluster: g1, g2...
const GrownPrefix = "g"

func (ForceNewCluster) Recover(ctx context.Context, env Env) (Outcome, error) {
	c, base, err := forceNewSurvivor(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	if err := grow(ctx, env.Drill, c, GrownPrefix, 1, env.Size-1, false); err != nil {
		return Outcome{}, err
	}
	return Outcome{Cluster: c, Baseline: base}, nil
}

// forceNewSurvivor restarts the most up-to-date survivor with
// --force-new-cluster and returns it as a one-member cluster, with the
// revision it keeps.
func forceNewSurvivor(ctx context.Context, env Env) (*harness.Cluster, Baseline, error) {
	old := env.Old
	survivor, rev, err := mostUpToDate(ctx, old)
	if err != nil {
		return nil, Baseline{}, err
	}
	// Down every survivor (crash-consistent, as an operator's kill -9), and
	// wait until the chosen one has let go of its data dir.
	_ = old.Kill()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = survivor.Wait(wctx)
	cancel()
	if err != nil {
		return nil, Baseline{}, err
	}
	spec, _ := old.Spec(survivor.Name())
	spec.ForceNewCluster = true
	old.HandOver(survivor.Name())
	c, err := env.Drill.StartMembers(ctx, []backend.MemberSpec{spec})
	if err != nil {
		return nil, Baseline{}, fmt.Errorf("restart %s with --force-new-cluster: %w", survivor.Name(), err)
	}
	cli, err := c.Client()
	if err != nil {
		return nil, Baseline{}, err
	}
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	resp, err := cli.Get(gctx, harness.ProbePrefix+"revision")
	cancel()
	if err != nil {
		return nil, Baseline{}, fmt.Errorf("read %s after force-new-cluster: %w", survivor.Name(), err)
	}
	at := resp.Header.Revision
	if err := keptHistory(survivor.Name(), at, env.Before[survivor.Name()]); err != nil {
		return nil, Baseline{}, err
	}
	// Its floor is what it had applied before the fault, measured then, not
	// what it says now: writes in flight at the fault may be in its log or
	// not, and writes sent to its address since it came back are in it too.
	floor := env.Before[survivor.Name()].Revision
	if floor == 0 {
		floor = rev
	}
	return c, Baseline{Revision: floor, Open: true, Why: fmt.Sprintf("survivor %s at revision %d before the fault, and what it kept above (it reported %d before the restart, %d after)", survivor.Name(), floor, rev, at)}, nil
}

// FindingSurvivorLostHistory is a survivor forced into a new cluster that
// came back with less than it had before the fault.
const FindingSurvivorLostHistory = "survivor-lost-history"

// keptHistory fails a survivor that came back below the revision it
// reported before the fault (measured then, never taken from the survivor
// after its restart).
func keptHistory(name string, at int64, before harness.MemberState) error {
	if at < before.Revision {
		return fmt.Errorf("%s: survivor %s came back at revision %d, below the %d it reported before the fault", FindingSurvivorLostHistory, name, at, before.Revision)
	}
	return nil
}

// mostUpToDate picks the live member with the highest applied raft index
// (then revision), as an operator reads `etcdctl endpoint status`.
func mostUpToDate(ctx context.Context, c *harness.Cluster) (backend.Member, int64, error) {
	live := c.Live()
	if len(live) == 0 {
		return nil, 0, errors.New("no survivor to force a new cluster from")
	}
	cli, err := c.Client(live...)
	if err != nil {
		return nil, 0, err
	}
	var best backend.Member
	var bestApplied uint64
	var bestRev int64
	for _, m := range live {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := cli.Status(sctx, m.ClientURL())
		cancel()
		if err != nil {
			// Choosing the most up-to-date needs every survivor's status:
			// skipping one could choose a lagging survivor.
			return nil, 0, fmt.Errorf("status of survivor %s (every survivor's is needed to choose one): %w", m.Name(), err)
		}
		if best == nil || st.RaftAppliedIndex > bestApplied || (st.RaftAppliedIndex == bestApplied && st.Header.Revision > bestRev) {
			best, bestApplied, bestRev = m, st.RaftAppliedIndex, st.Header.Revision
		}
	}
	return best, bestRev, nil
}

// grow adds count members with empty data dirs to c, one at a time, named
// prefix<first>..., as voters (MemberAdd) or as learners promoted once in
// sync.
func grow(ctx context.Context, d *harness.Drill, c *harness.Cluster, prefix string, first, count int, learners bool) error {
	if count <= 0 {
		return nil
	}
	specs, err := d.Plan(harness.Layout{Prefix: prefix, First: first, Dir: "grown", Token: c.Token, Size: count})
	if err != nil {
		return err
	}
	ms := harness.MembershipOf(c)
	join := ms.Join
	if learners {
		join = ms.JoinAsLearner
	}
	for _, s := range specs {
		if _, err := join(ctx, s); err != nil {
			return fmt.Errorf("add member %s: %w", s.Name, err)
		}
	}
	return nil
}
