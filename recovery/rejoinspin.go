package recovery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// RejoinPublishSpin is force-new-cluster made to hit etcd 3.7.3's publish
// spin (harness.IncidentPublishSpin) on purpose: the survivor is forced into
// a one-member cluster and grown back, and the LAST member joins with its
// peer listener opened late (a peer proxy started a second after it), so
// that the leader applies the joiner's publish (committed by the others
// without it) before it cuts the snapshot it sends the joiner. Where the
// backend has no peer proxies (containers) that is a race, about one join in
// three on loopback, and the member is added again (MemberRemove, a fresh
// data dir, MemberAdd) until one of its joins spins, up to Attempts times. The harness sees the spin, records it with its evidence and
// repairs it with one write, as it does for every awaited member; the drill
// then verifies as force-new-cluster does.
type RejoinPublishSpin struct {
	// Attempts bounds the joins of the last member.
	Attempts int
}

func (RejoinPublishSpin) Name() string { return "rejoin-publish-spin" }

func (RejoinPublishSpin) NeedsSnapshot() bool { return false }

// Needs the survivor restarted on its data dir, and peer proxies (asked
// for as a partition) to open the joiner's peer listener late.
func (RejoinPublishSpin) Needs() backend.Caps { return backend.Caps{Restart: true, Partition: true} }

// lateListener is how long the joiner's peer URL refuses connections after
// it starts: the leader's snapshot waits, while the joiner, which dials the
// leader itself, hears from it and proposes its publish, which the others
// commit. 20 of 20 drills spun so on loopback (5 of 20 without).
const lateListener = time.Second

// SpinPrefix names the joins of the last member: j1, j2, ...
const SpinPrefix = "j"

func (r RejoinPublishSpin) Recover(ctx context.Context, env Env) (Outcome, error) {
	d := env.Drill
	if env.Size < 3 {
		return Outcome{}, errors.New("rejoin-publish-spin: the joiner's publish must commit without it, which needs 3 members or more")
	}
	c, base, err := forceNewSurvivor(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Cluster: c, Baseline: base}
	if err := grow(ctx, d, c, GrownPrefix, 1, env.Size-2, false); err != nil {
		return Outcome{}, err
	}
	attempts := max(r.Attempts, 1)
	for attempt := 1; attempt <= attempts; attempt++ {
		specs, err := d.Plan(harness.Layout{Prefix: SpinPrefix, First: attempt, Dir: "grown", Token: c.Token, Size: 1})
		if err != nil {
			return Outcome{}, err
		}
		late := c.DelayPeerListener(specs[0], lateListener)
		m, err := harness.MembershipOf(c).Join(ctx, specs[0])
		if err != nil {
			return Outcome{}, fmt.Errorf("join %s: %w", specs[0].Name, err)
		}
		if spun(c, m.Name()) || attempt == attempts {
			how := "its peer listener opened as it started (no peer proxy to open late on this backend)"
			if late {
				how = fmt.Sprintf("its peer listener opened %v after it started", lateListener)
			}
			out.Notes = append(out.Notes, fmt.Sprintf("rejoin-publish-spin: %d joins of the last member, %s; the last one %s", attempt, how, spinWord(spun(c, m.Name()))))
			return out, nil
		}
		// No spin this time: take the member out and add a fresh one.
		if err := harness.MembershipOf(c).Remove(ctx, m.Name()); err != nil {
			return Outcome{}, err
		}
		if err := m.Kill(); err != nil {
			return Outcome{}, err
		}
		if err := m.Wait(ctx); err != nil {
			return Outcome{}, err
		}
		if err := os.RemoveAll(m.DataDir()); err != nil {
			return Outcome{}, fmt.Errorf("remove the data dir of %s: %w", m.Name(), err)
		}
	}
	return out, nil
}

// spun says whether the cluster saw member name spin.
func spun(c *harness.Cluster, name string) bool {
	for _, i := range c.Incidents() {
		if i.Name == harness.IncidentPublishSpin && i.Member == name {
			return true
		}
	}
	return false
}

func spinWord(s bool) string {
	if s {
		return "spun"
	}
	return "did not spin"
}
