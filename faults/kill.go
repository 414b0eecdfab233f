package faults

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// KillMajority kills floor(N/2)+1 members at once, the leader first, so the
// cluster loses quorum.
type KillMajority struct {
	// Window is how long the survivors must take no write; zero means
	// QuorumLossWindow.
	Window time.Duration
}

func (KillMajority) Name() string { return "kill-majority" }

func (KillMajority) Needs() backend.Caps { return backend.Caps{HardKill: true} }

// Majority is the number of members whose loss breaks quorum in a cluster of n.
func Majority(n int) int { return n/2 + 1 }

// Victims picks who dies: the leader (if known) first, then members in order.
func Victims(ms []backend.Member, leader string, n int) []backend.Member {
	ordered := slices.Clone(ms)
	slices.SortStableFunc(ordered, func(a, b backend.Member) int {
		switch {
		case a.Name() == leader:
			return -1
		case b.Name() == leader:
			return 1
		}
		return 0
	})
	return ordered[:n]
}

func (KillMajority) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	c := env.Cluster
	ms := c.Live()
	if len(ms) == 0 {
		return harness.Effect{}, errors.New("no live member to kill")
	}
	leader := ""
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	if l, err := c.Leader(lctx); err == nil {
		leader = l.Name()
	}
	cancel()
	victims := Victims(ms, leader, Majority(len(ms)))
	e := harness.Effect{Fault: "kill-majority", At: time.Now()}
	var errs []error
	for _, m := range victims {
		if err := m.Kill(); err != nil {
			errs = append(errs, fmt.Errorf("kill member %s: %w", m.Name(), err))
		}
		e.Members = append(e.Members, m.Name())
	}
	e.InForce = time.Since(e.At)
	e.Detail = fmt.Sprintf("killed %s of %d (leader %s) in %s", strings.Join(e.Members, ", "), len(ms), orNone(leader), e.InForce.Round(time.Microsecond))
	return e, errors.Join(errs...)
}

// Confirm proves quorum is lost: every victim has exited, and the survivors
// take no write for longer than they would need to elect a new leader.
func (k KillMajority) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	c := env.Cluster
	for _, name := range e.Members {
		if m := c.Member(name); m != nil {
			select {
			case <-m.Exited():
			default:
				return e, fmt.Errorf("member %s still running after kill", name)
			}
		}
	}
	err := NoWriteFor(ctx, c, k.window(c))
	if err != nil {
		return e, err
	}
	e.QuorumLost = true
	if len(c.Live()) == 0 {
		e.Detail += "; quorum lost: no member left alive"
	} else {
		e.Detail += fmt.Sprintf("; quorum lost: %s took no write in %s", strings.Join(harness.Names(c.Live()), ", "), k.window(c))
	}
	return e, nil
}

func (k KillMajority) window(c *harness.Cluster) time.Duration {
	if k.Window > 0 {
		return k.Window
	}
	return QuorumLossWindow(c)
}

// QuorumLossWindow is how long survivors must refuse every write before
// quorum counts as lost: three election timeouts, time enough for survivors
// that still have a majority to notice the dead leader (one to two election
// timeouts), elect another and commit.
func QuorumLossWindow(c *harness.Cluster) time.Duration {
	return 3 * c.Timing().Election
}

// ErrQuorumKept is NoWriteFor's answer when a write went through.
var ErrQuorumKept = errors.New("quorum not lost")

// NoWriteFor keeps trying to write through the live members for window, and
// returns an error as soon as one write is acknowledged. With no live member
// it returns nil at once.
func NoWriteFor(ctx context.Context, c *harness.Cluster, window time.Duration) error {
	live := c.Live()
	if len(live) == 0 {
		return nil
	}
	cli, err := c.Client(live...)
	if err != nil {
		return err
	}
	p := harness.Probe{Client: cli, Key: "quorum", Attempt: max(window/5, 20*time.Millisecond)}
	t, err := p.Run(ctx, window, harness.FirstAck)
	if err != nil {
		return err
	}
	if t.Acked > 0 {
		return fmt.Errorf("%w: %s took a write after the fault", ErrQuorumKept, strings.Join(harness.Names(live), ", "))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
