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
	// ProbeTimeout is the deadline of the write that must fail once quorum
	// is gone; zero means ProbeTimeout.
	ProbeTimeout time.Duration
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

func (KillMajority) Inject(ctx context.Context, c *harness.Cluster) (harness.Effect, error) {
	ms := c.Live()
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

// Confirm proves quorum is lost: every victim has exited, and a write with a
// short deadline through the survivors fails.
func (k KillMajority) Confirm(ctx context.Context, c *harness.Cluster, e *harness.Effect) error {
	for _, name := range e.Members {
		if m := c.Member(name); m != nil {
			select {
			case <-m.Exited():
			default:
				return fmt.Errorf("member %s still running after kill", name)
			}
		}
	}
	err := ProbeWrite(ctx, c, k.probeTimeout(c))
	if err == nil {
		return errors.New("quorum not lost: a write succeeded after the kill")
	}
	e.QuorumLost = true
	e.Detail += "; quorum lost: " + err.Error()
	return nil
}

func (k KillMajority) probeTimeout(c *harness.Cluster) time.Duration {
	if k.ProbeTimeout > 0 {
		return k.ProbeTimeout
	}
	return ProbeTimeout(c)
}

// ProbeTimeout is how long a write may take on a healthy loopback cluster
// before it counts as failed: five heartbeats, at least 250 ms. A healthy
// cluster acknowledges a write in a few milliseconds.
func ProbeTimeout(c *harness.Cluster) time.Duration {
	return max(5*c.Timing().Heartbeat, 250*time.Millisecond)
}

// ProbeWrite writes one key through the live members with a deadline and
// returns the write's error. With no live member it returns an error at once.
func ProbeWrite(ctx context.Context, c *harness.Cluster, timeout time.Duration) error {
	live := c.Live()
	if len(live) == 0 {
		return errors.New("no member left alive")
	}
	cli, err := c.Client(live...)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = cli.Put(pctx, harness.ProbePrefix+"quorum", time.Now().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("write through %s failed within %s: %w", strings.Join(harness.Names(live), ", "), timeout, err)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
