package recovery

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// RejoinPublishSpin is force-new-cluster made to hit etcd 3.7.3's publish
// spin (harness.IncidentPublishSpin) on purpose: the survivor is forced into
// a one-member cluster and grown back, and the LAST member is added again
// and again (MemberRemove, a fresh data dir, MemberAdd) until one of its
// joins spins, up to Attempts times. A join spins when the leader applied
// the joiner's publish (committed by the others without it) before it cut
// the snapshot it sends the joiner; that is a race, about one join in two
// on loopback. The harness sees the spin, records it with its evidence and
// repairs it with one write, as it does for every awaited member; the drill
// then verifies as force-new-cluster does.
type RejoinPublishSpin struct {
	// Attempts bounds the joins of the last member.
	Attempts int
}

func (RejoinPublishSpin) Name() string { return "rejoin-publish-spin" }

func (RejoinPublishSpin) NeedsSnapshot() bool { return false }

// Needs the survivor restarted on its data dir.
func (RejoinPublishSpin) Needs() backend.Caps { return backend.Caps{Restart: true} }

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
		m, err := harness.MembershipOf(c).Join(ctx, specs[0])
		if err != nil {
			return Outcome{}, fmt.Errorf("join %s: %w", specs[0].Name, err)
		}
		if spun(c, m.Name()) || attempt == attempts {
			out.Notes = append(out.Notes, fmt.Sprintf("rejoin-publish-spin: %d joins of the last member, the last one %s", attempt, spinWord(spun(c, m.Name()))))
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
