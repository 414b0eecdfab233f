package faults

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// UnreachablePeerURLs updates the peer URLs of a majority to well-formed URLs
// where nothing listens, one member after the other, and records what the
// cluster does: how many updates it took, and whether it still takes writes.
//
// The wrong ports are reserved from the cluster's allocator, so no other
// drill listens there while this one runs.
type UnreachablePeerURLs struct {
	// Window is how long Confirm watches the cluster (default 2 s).
	Window time.Duration
}

func (UnreachablePeerURLs) Name() string { return "wrong-peer-urls-unreachable" }

func (UnreachablePeerURLs) Needs() backend.Caps { return backend.Caps{} }

func (f UnreachablePeerURLs) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	c := env.Cluster
	live := c.Live()
	n := Majority(len(live))
	if c.Ports() == nil {
		return harness.Effect{}, errors.New("the cluster has no port allocator to reserve unreachable ports from")
	}
	ps, err := c.Ports().Reserve(n)
	if err != nil {
		return harness.Effect{}, err
	}
	cli, err := c.Client()
	if err != nil {
		return harness.Effect{}, err
	}
	e := harness.Effect{Fault: "wrong-peer-urls-unreachable", At: time.Now()}
	var done []string
	for i, m := range live[:n] {
		_, id, err := memberID(ctx, c, m.Name())
		if err != nil {
			return e, err
		}
		wrong := "http://127.0.0.1:" + strconv.Itoa(ps[i])
		uctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err = cli.MemberUpdate(uctx, id, []string{wrong})
		cancel()
		e.Members = append(e.Members, m.Name())
		if err != nil {
			done = append(done, fmt.Sprintf("%s -> %s refused or unanswered (%s)", m.Name(), wrong, shortErr(err)))
			break
		}
		done = append(done, fmt.Sprintf("%s -> %s applied", m.Name(), wrong))
	}
	e.InForce = time.Since(e.At)
	e.Detail = "MemberUpdate " + strings.Join(done, ", ")
	return e, nil
}

// Confirm records what the cluster does with those URLs: it writes through
// every live member for a while and reports how many writes it took and
// whether the last ones went through. It asserts nothing: established peer
// connections may carry on, so quorum may hold or go.
func (f UnreachablePeerURLs) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	c := env.Cluster
	window := f.Window
	if window <= 0 {
		window = 2 * time.Second
	}
	o, err := Observe(ctx, c, window)
	if err != nil {
		return e, err
	}
	e.QuorumLost = !o.LastOK
	verdict := "quorum kept"
	if e.QuorumLost {
		verdict = "quorum lost"
	}
	e.Detail += fmt.Sprintf("; over %s: %d writes acknowledged, %d not; %s", window, o.Acked, o.Refused, verdict)
	return e, nil
}

// Observe writes through the live members, one write at a time, each with a
// short deadline, until window ends.
func Observe(ctx context.Context, c *harness.Cluster, window time.Duration) (harness.Tally, error) {
	cli, err := c.Client()
	if err != nil {
		return harness.Tally{}, err
	}
	p := harness.Probe{Client: cli, Key: "observe", Attempt: max(5*c.Timing().Heartbeat, 100*time.Millisecond), Pause: 20 * time.Millisecond}
	return p.Run(ctx, window, nil)
}
