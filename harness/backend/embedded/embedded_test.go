package embedded_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/backend/backendtest"
	"github.com/etcd-drill/etcd-drill/harness/backend/embedded"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
)

func startCluster(tb testing.TB, size int) (*harness.Cluster, []backend.MemberSpec) {
	tb.Helper()
	alloc, specs := backendtest.Plan(tb, size)
	return backendtest.Start(tb, embedded.New(), alloc, specs, 30*time.Second), specs
}

func put(ctx context.Context, cli *clientv3.Client, key string) error {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := cli.Put(pctx, key, "v")
	return err
}

func TestKillTakesEffectAtOnce(t *testing.T) {
	c, _ := startCluster(t, 3)
	ctx := context.Background()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := harness.NewClient(leader.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := put(ctx, cli, "before"); err != nil {
		t.Fatalf("write before the kill: %v", err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-leader.Exited():
	default:
		t.Fatal("Exited not closed when Kill returned")
	}
	if st := leader.ExitStatus(); !st.Killed {
		t.Fatalf("exit status %+v, want Killed", st)
	}
	// The two others still have quorum, so only a dead member refuses this.
	err = put(ctx, cli, "after")
	if err == nil {
		t.Fatal("a write through the killed member succeeded")
	}
	// Nothing listens on its ports any more, as after a process kill.
	if err := leakcheck.Ports([]string{leader.ClientURL(), leader.PeerURL()}); err != nil {
		t.Fatal(err)
	}
	// The survivors elect a new leader and take writes.
	survivors, err := c.Client(c.Live()...)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for err = put(ctx, survivors, "survivors"); err != nil; err = put(ctx, survivors, "survivors") {
		if time.Now().After(deadline) {
			t.Fatalf("survivors never took a write: %v", err)
		}
	}
}

func TestRestartOnItsDataDir(t *testing.T) {
	c, specs := startCluster(t, 1)
	ctx := context.Background()
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, cli, "kept"); err != nil {
		t.Fatal(err)
	}
	m := c.Members()[0]
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	again, err := harness.Start(wctx, embedded.New(), c.Ports(), specs)
	if err != nil {
		t.Fatalf("restart on the same data dir: %v", err)
	}
	defer again.Close(ctx)
	backendtest.ExpectKey(wctx, t, again, "kept", "v")
}

func TestStopIsGraceful(t *testing.T) {
	c, _ := startCluster(t, 1)
	m := c.Members()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Exited():
	default:
		t.Fatal("Exited not closed after Stop")
	}
	if st := m.ExitStatus(); st.Killed || st.Err != nil {
		t.Fatalf("exit status after Stop %+v, want a clean stop", st)
	}
}

// BenchmarkKill measures how long Kill takes to put a member of a 3-member
// cluster out of service (target: within 100 ms).
func BenchmarkKill(b *testing.B) {
	backendtest.KillInFreshClusters(b, func() *harness.Cluster {
		c, _ := startCluster(b, 3)
		return c
	})
}
