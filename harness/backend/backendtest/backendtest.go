// Package backendtest holds what the tests of every backend share.
package backendtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/ports"
)

// Fast is raft timing for members on loopback, much faster than etcd's
// defaults.
var Fast = backend.Timing{Heartbeat: 25 * time.Millisecond, Election: 250 * time.Millisecond}

// Plan lays out a test cluster of size members named m1... with Fast
// timing, their data in a new temp dir of tb, on ports of a new allocator
// that gives them back when tb ends.
func Plan(tb testing.TB, size int) (*ports.Allocator, []backend.MemberSpec) {
	tb.Helper()
	alloc := ports.New()
	tb.Cleanup(alloc.ReleaseAll)
	specs, err := harness.Plan(alloc, harness.ClusterSpec{Size: size, NamePrefix: "m", Dir: tb.TempDir(), Token: "test", Timing: Fast})
	if err != nil {
		tb.Fatal(err)
	}
	return alloc, specs
}

// StartCluster starts a test cluster of size members (see Plan) on be
// within wait, laid out for be as a drill does if be lays its members out
// itself (backend.Layouter); tb closes it when the test ends.
func StartCluster(tb testing.TB, be backend.Backend, size int, wait time.Duration) *harness.Cluster {
	tb.Helper()
	alloc, specs := Plan(tb, size)
	if lo, ok := be.(backend.Layouter); ok {
		specs = lo.Layout(specs)
	}
	return Start(tb, be, alloc, specs, wait)
}

// Eventually polls f every 10 ms until it returns nil, and fails the test
// with what and f's last error if that takes longer than d.
func Eventually(tb testing.TB, d time.Duration, what string, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Exited says whether m has ended.
func Exited(m backend.Member) bool {
	select {
	case <-m.Exited():
		return true
	default:
		return false
	}
}

// PauseResume pauses the one member of c, checks it answers no Get (and,
// if whilePaused is set, whatever else it checks), resumes it and waits
// for it to answer again with the key it held.
func PauseResume(tb testing.TB, c *harness.Cluster, whilePaused func(m backend.Member)) {
	tb.Helper()
	m := c.Members()[0]
	p, ok := m.(backend.Pauser)
	if !ok {
		tb.Fatalf("member %T is no backend.Pauser", m)
	}
	ctx := context.Background()
	cli, err := c.Client()
	if err != nil {
		tb.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = cli.Put(pctx, "k", "v")
	cancel()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.Pause(); err != nil {
		tb.Fatal(err)
	}
	paused := true
	defer func() {
		if paused {
			p.Resume()
		}
	}()
	if whilePaused != nil {
		whilePaused(m)
	}
	gctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = cli.Get(gctx, "k")
	cancel()
	if err == nil {
		tb.Fatal("a paused member answered a Get")
	}
	if Exited(m) {
		tb.Fatalf("a paused member exited: %+v", m.ExitStatus())
	}
	if err := p.Resume(); err != nil {
		tb.Fatal(err)
	}
	paused = false
	Eventually(tb, 10*time.Second, "Get after Resume", func() error {
		gctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		resp, err := cli.Get(gctx, "k")
		if err != nil {
			return err
		}
		if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
			return fmt.Errorf("got %v, want k=v", resp.Kvs)
		}
		return nil
	})
}

// Start starts the members of specs on be within wait, as one cluster that
// tb closes (and whose ports it gives back) when the test ends.
func Start(tb testing.TB, be backend.Backend, alloc *ports.Allocator, specs []backend.MemberSpec, wait time.Duration) *harness.Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := harness.Start(ctx, be, alloc, specs)
	if err != nil {
		alloc.ReleaseAll()
		tb.Fatal(err)
	}
	// Cleanups run last-in first-out: the cluster closes before its ports
	// are given back, and before the backend closes.
	tb.Cleanup(alloc.ReleaseAll)
	CloseAtEnd(tb, c, 30*time.Second)
	return c
}

// CloseAtEnd closes c (a backend, a cluster) within d when tb ends, and
// fails the test if that fails.
func CloseAtEnd(tb testing.TB, c interface{ Close(context.Context) error }, d time.Duration) {
	tb.Helper()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			tb.Errorf("close %T: %v", c, err)
		}
	})
}

// ExpectKey reads key through c and fails the test unless its value is want.
func ExpectKey(ctx context.Context, tb testing.TB, c *harness.Cluster, key, want string) {
	tb.Helper()
	cli, err := c.Client()
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := cli.Get(ctx, key)
	if err != nil {
		tb.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != want {
		tb.Fatalf("%s is %v, want %q: written before the restart", key, resp.Kvs, want)
	}
}

// CloseKillsEveryMember closes be, which started ms (members of c), within
// ctx and checks that each of them then ended as killed, and whatever else
// gone checks of it (its process reaped, its container removed); then that
// a second Close is no error and that the closed backend starts no member.
func CloseKillsEveryMember(ctx context.Context, tb testing.TB, be backend.Backend, c *harness.Cluster, ms []backend.Member, gone func(i int, m backend.Member)) {
	tb.Helper()
	if err := be.Close(ctx); err != nil {
		tb.Fatal(err)
	}
	for i, m := range ms {
		if !Exited(m) {
			tb.Fatalf("member %s not exited after Close", m.Name())
		}
		if st := m.ExitStatus(); !st.Killed {
			tb.Fatalf("member %s: exit status %+v, want Killed", m.Name(), st)
		}
		gone(i, m)
	}
	if err := be.Close(ctx); err != nil {
		tb.Fatalf("second Close: %v", err)
	}
	spec, _ := c.Spec(ms[0].Name())
	if m, err := be.Start(ctx, spec); err == nil {
		m.Kill()
		tb.Fatal("a closed backend started a member")
	}
}

// KillTimes measures, over a benchmark's iterations, how long Kill takes to
// put a member out of service.
type KillTimes struct{ total, worst time.Duration }

// Kill kills m with b's timer running for the Kill only (it is stopped when
// Kill returns), and checks m ended as killed.
func (k *KillTimes) Kill(b *testing.B, m backend.Member) {
	b.Helper()
	b.StartTimer()
	start := time.Now()
	err := m.Kill()
	d := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	k.total += d
	k.worst = max(k.worst, d)
	if !m.ExitStatus().Killed {
		b.Fatalf("exit status %+v, want Killed", m.ExitStatus())
	}
}

// Report reports the mean time of a Kill (ms/kill) and the worst (ms-worst).
func (k *KillTimes) Report(b *testing.B) {
	b.ReportMetric(float64(k.total.Microseconds())/float64(b.N)/1000, "ms/kill")
	b.ReportMetric(float64(k.worst.Microseconds())/1000, "ms-worst")
}

// KillInFreshClusters measures how long Kill takes to put one member of a
// cluster out of service: each iteration starts a new cluster with start,
// outside the timer, kills one of its members and closes it.
func KillInFreshClusters(b *testing.B, start func() *harness.Cluster) {
	b.Helper()
	b.StopTimer() // KillTimes runs it for the Kill only
	var kt KillTimes
	for i := 0; i < b.N; i++ {
		c := start()
		ms := c.Members()
		kt.Kill(b, ms[i%len(ms)])
		if err := c.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	kt.Report(b)
}

// PanicNewURLs is what etcd panics with when it applies a peer URL it
// cannot parse.
const PanicNewURLs = "failed NewURLs"

// PanicOnSchemelessUpdate updates m2's peer URL, through m1, to one without
// a scheme: m1, applying it, panics in rafthttp; m2, the updated one, does
// not. It waits within ctx for m1 to end, checks it ended by itself of that
// panic (its message and caller read, exit code 2, an error) and that m2
// runs on, and returns m1 and m2.
func PanicOnSchemelessUpdate(ctx context.Context, tb testing.TB, c *harness.Cluster) (victim, other backend.Member) {
	tb.Helper()
	_, uerr := faults.SchemelessUpdate(ctx, c, "m1", "m2")
	victim, other = c.Member("m1"), c.Member("m2")
	select {
	case <-victim.Exited():
	case <-ctx.Done():
		tb.Fatalf("m1 did not crash within the deadline (update: %v)", uerr)
	}
	st := victim.ExitStatus()
	if !strings.Contains(st.Panic, PanicNewURLs) {
		tb.Fatalf("exit status %+v: Panic does not name %q", st, PanicNewURLs)
	}
	if st.PanicCaller == "" {
		tb.Fatalf("exit status %+v: no PanicCaller", st)
	}
	// Go exits 2 on an unrecovered panic; the member ended by itself.
	if st.Killed || st.Code != 2 || st.Err == nil {
		tb.Fatalf("exit status %+v, want not Killed, Code 2, an error", st)
	}
	tb.Logf("m1 panicked: %q at %s", st.Panic, st.PanicCaller)
	if Exited(other) {
		tb.Fatalf("m2 exited too: %+v", other.ExitStatus())
	}
	return victim, other
}
