package faults

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// PanicNewURLs is what etcd panics with when it applies a peer URL it cannot
// parse.
const PanicNewURLs = "failed NewURLs"

// SchemelessPeerURL is the recovery guide's "membership mis-reconfiguration
// with wrong URLs": a MemberUpdate whose peer URL has no scheme
// (127.0.0.1:2380). clientv3 refuses such a URL before sending it, so the
// update goes through the raw gRPC Cluster service. Every other member that
// applies it panics (rafthttp: failed NewURLs: its transport cannot parse
// the URL of a peer); the updated member itself does not, but is left
// without quorum. A panicked member restarted on its data dir replays the
// entry and panics again: a crash loop that only a restore ends.
type SchemelessPeerURL struct {
	// PanicWait bounds the wait for the members to panic (default 15 s).
	PanicWait time.Duration
}

func (SchemelessPeerURL) Name() string { return "wrong-peer-urls" }

// Needs members that can panic without taking the harness down.
func (SchemelessPeerURL) Needs() backend.Caps {
	return backend.Caps{SurvivesMemberPanic: true, Restart: true}
}

// Inject updates the last member's peer URL; Effect.Members are the members
// expected to panic: all the others.
func (SchemelessPeerURL) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	c := env.Cluster
	live := c.Live()
	if len(live) < 2 {
		return harness.Effect{}, errors.New("wrong-peer-urls needs at least 2 live members: the updated member itself does not panic")
	}
	target, via := live[len(live)-1], live[0]
	e := harness.Effect{Fault: "wrong-peer-urls", Members: harness.Names(live[:len(live)-1]), At: time.Now()}
	id, err := SchemelessUpdate(ctx, c, via.Name(), target.Name())
	if id == 0 {
		return e, err
	}
	e.Detail = fmt.Sprintf("MemberUpdate %s (%x) peer URL %s -> %q (no scheme) through %s", target.Name(), id, target.PeerURL(), hostOf(target.PeerURL()), via.Name())
	if err != nil {
		e.Detail += " (unanswered: " + shortErr(err) + ")"
	}
	e.InForce = time.Since(e.At)
	return e, nil
}

// SchemelessUpdate sends, through member via's raw gRPC Cluster service, a
// MemberUpdate of member target's peer URL to its host:port alone. It
// returns target's ID (0 if it could not be found) and the update's error:
// the update is seldom answered, since the member that would answer panics.
func SchemelessUpdate(ctx context.Context, c *harness.Cluster, via, target string) (uint64, error) {
	t, id, err := memberID(ctx, c, target)
	if err != nil {
		return 0, err
	}
	v := c.Member(via)
	if v == nil {
		return 0, fmt.Errorf("no member %s", via)
	}
	return id, rawMemberUpdate(ctx, v.ClientURL(), id, hostOf(t.PeerURL()), 2*time.Second)
}

// Confirm waits until the members that applied the update have panicked
// with failed NewURLs, proves the ones left take no write, then restarts
// enough panicked members on their data dirs to make a quorum with the
// ones left, and waits for them to panic again. With more than 3 members a
// follower may not learn that the update was committed before the members
// that did died: it stays up, without quorum (Effect.Members then lists
// only the members that panicked).
func (f SchemelessPeerURL) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	c := env.Cluster
	wait := f.PanicWait
	if wait <= 0 {
		wait = 15 * time.Second
	}
	var victims []backend.Member
	for _, name := range e.Members {
		victims = append(victims, c.Member(name))
	}
	panicked, up, err := waitPanics(ctx, victims, wait, panicSpread(c))
	if err != nil {
		return e, err
	}
	e.Members = harness.Names(panicked)
	e.InForce = time.Since(e.At)
	e.Detail += fmt.Sprintf("; %s panicked (%s) within %s", strings.Join(e.Members, ", "), PanicNewURLs, e.InForce.Round(time.Millisecond))
	if len(up) > 0 {
		e.Detail += fmt.Sprintf("; %s did not learn the update was committed before the others died: up, without quorum", strings.Join(harness.Names(up), ", "))
	}
	if err := NoWriteFor(ctx, c, QuorumLossWindow(c)); err != nil {
		return e, err
	}
	e.QuorumLost = true
	e.Detail += "; quorum lost"
	// The restarted members learn that the update is committed only from a
	// leader, and elect one only as a quorum with the members still up (the
	// updated one among them).
	restart := max(len(c.Members())/2+1-1-len(up), 1)
	var again []backend.Member
	for _, v := range panicked[:min(restart, len(panicked))] {
		m, err := c.Restart(ctx, v.Name())
		if err != nil {
			return e, err
		}
		again = append(again, m)
	}
	// The first to panic again takes the quorum down with it: the others
	// may stay up.
	crashed, stuck, err := waitPanics(ctx, again, wait, panicSpread(c))
	if err != nil {
		return e, fmt.Errorf("restarted member did not crash again: %w", err)
	}
	e.Detail += fmt.Sprintf("; %s restarted on their data dirs, %s panicked again: a crash loop%s",
		strings.Join(harness.Names(again), ", "), strings.Join(harness.Names(crashed), ", "), notCrashed(stuck))
	return e, nil
}

// panicSpread is how long, after the first member panicked, the others have
// to learn the commit and panic too: a few heartbeats, generously.
func panicSpread(c *harness.Cluster) time.Duration {
	return max(2*time.Second, 4*c.Timing().Election)
}

func notCrashed(ms []backend.Member) string {
	if len(ms) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s up again, without quorum)", strings.Join(harness.Names(ms), ", "))
}

// waitPanics waits up to wait for a member of ms to exit, then up to spread
// more for the others; it returns those that exited, each with a panic that
// names failed NewURLs (an exit without it is an error), and those still up.
func waitPanics(ctx context.Context, ms []backend.Member, wait, spread time.Duration) (exited, up []backend.Member, err error) {
	deadline := time.Now().Add(wait)
	firstSeen := false
	for {
		exited, up = exited[:0], up[:0]
		for _, m := range ms {
			select {
			case <-m.Exited():
				exited = append(exited, m)
			default:
				up = append(up, m)
			}
		}
		if len(exited) > 0 && !firstSeen {
			firstSeen, deadline = true, time.Now().Add(spread)
		}
		if len(up) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if len(exited) == 0 {
		return nil, nil, fmt.Errorf("member %s did not crash within %s of the update", up[0].Name(), wait)
	}
	for _, m := range exited {
		if p := m.ExitStatus().Panic; !strings.Contains(p, PanicNewURLs) {
			return nil, nil, fmt.Errorf("member %s exited without the expected panic (%q): %+v", m.Name(), PanicNewURLs, m.ExitStatus())
		}
	}
	return exited, up, nil
}

// memberID finds the raft ID of the member called name.
func memberID(ctx context.Context, c *harness.Cluster, name string) (backend.Member, uint64, error) {
	m := c.Member(name)
	if m == nil {
		return nil, 0, fmt.Errorf("no member %s", name)
	}
	cli, err := c.Client()
	if err != nil {
		return nil, 0, err
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := cli.MemberList(lctx)
	if err != nil {
		return nil, 0, fmt.Errorf("member list: %w", err)
	}
	for _, mm := range resp.Members {
		if mm.Name == name {
			return m, mm.ID, nil
		}
	}
	return nil, 0, fmt.Errorf("member %s not in the member list", name)
}

// rawMemberUpdate sends MemberUpdate through the gRPC Cluster service
// itself, past clientv3's URL validation.
func rawMemberUpdate(ctx context.Context, clientURL string, id uint64, peerURL string, timeout time.Duration) error {
	conn, err := grpc.NewClient(hostOf(clientURL), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", clientURL, err)
	}
	defer conn.Close()
	uctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = pb.NewClusterClient(conn).MemberUpdate(uctx, &pb.MemberUpdateRequest{ID: id, PeerURLs: []string{peerURL}})
	return err
}

func hostOf(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	return pu.Host
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}
