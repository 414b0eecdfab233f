package container_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/backend/backendtest"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/backend/container"
	"github.com/etcd-drill/etcd-drill/harness/bins"
)

func TestMain(m *testing.M) {
	// testcontainers prints the engine's details on its first connection.
	tclog.SetDefault(tclog.NewNoopLogger())
	os.Exit(m.Run())
}

// The image is built (or found) once for the whole package.
var img struct {
	once          sync.Once
	name, version string
	err           error
}

// requireDocker skips tb, saying so plainly, when no Docker engine answers;
// otherwise it returns the etcd image built from bin/ and its etcd version.
func requireDocker(tb testing.TB) (image, version string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := container.Available(ctx); err != nil {
		tb.Skipf("container backend tests skipped: no Docker engine answers: %v", err)
	}
	img.once.Do(func() {
		b, err := bins.Find("")
		if err != nil {
			img.err = fmt.Errorf("the image is built from real etcd binaries; `make bins` builds them into bin/: %w", err)
			return
		}
		if img.version, img.err = b.Version(); img.err != nil {
			return
		}
		bctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		img.name, img.err = container.EnsureImage(bctx, b, img.version)
	})
	if img.err != nil {
		tb.Fatal(img.err)
	}
	return img.name, img.version
}

// newRun returns a run id no other test uses.
func newRun() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

// dockerClient is a client of the engine, closed with tb.
func dockerClient(tb testing.TB) client.APIClient {
	tb.Helper()
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p.Client()
}

// labelled lists the names of the containers (running or not) and networks
// labelled etcd-drill.run=run.
func labelled(ctx context.Context, cli client.APIClient, run string) (containers, networks []string, err error) {
	f := make(client.Filters).Add("label", container.LabelRun+"="+run)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cs.Items {
		containers = append(containers, strings.Join(c.Names, ","))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, nil, err
	}
	for _, n := range ns.Items {
		networks = append(networks, n.Name)
	}
	return containers, networks, nil
}

// assertNoLeftovers fails if a container or network of run is left.
func assertNoLeftovers(tb testing.TB, cli client.APIClient, run string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, ns, err := labelled(ctx, cli, run)
	if err != nil {
		tb.Fatal(err)
	}
	if len(cs)+len(ns) > 0 {
		tb.Errorf("run %s left containers %v and networks %v", run, cs, ns)
	}
}

// newBackend returns a container backend of a new run, closed with tb,
// after which nothing labelled with the run may remain.
func newBackend(tb testing.TB) (*container.Backend, string, client.APIClient) {
	tb.Helper()
	image, version := requireDocker(tb)
	cli := dockerClient(tb)
	run := newRun()
	// Cleanups run last-in first-out: this check runs after the backend
	// closed.
	tb.Cleanup(func() { assertNoLeftovers(tb, cli, run) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	be, err := container.New(ctx, image, version, run)
	if err != nil {
		tb.Fatal(err)
	}
	backendtest.CloseAtEnd(tb, be, 30*time.Second)
	return be, run, cli
}

// startCluster starts size members named m1... on be, on the drill's
// network (the image may take its time to start), closed with tb.
func startCluster(tb testing.TB, be *container.Backend, size int) *harness.Cluster {
	tb.Helper()
	return backendtest.StartCluster(tb, be, size, 60*time.Second)
}

func containerID(tb testing.TB, m backend.Member) string {
	tb.Helper()
	cm, ok := m.(interface{ ContainerID() string })
	if !ok {
		tb.Fatalf("member %s (%T) has no ContainerID method", m.Name(), m)
	}
	return cm.ContainerID()
}

func inspect(tb testing.TB, cli client.APIClient, id string) (client.ContainerInspectResult, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
}

func put(ctx context.Context, cli *clientv3.Client, key, val string, d time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := cli.Put(pctx, key, val)
	return err
}

func leader(tb testing.TB, c *harness.Cluster) backend.Member {
	tb.Helper()
	var l backend.Member
	backendtest.Eventually(tb, 10*time.Second, "a leader", func() (err error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		l, err = c.Leader(ctx)
		return err
	})
	return l
}

// TestMembersResolveByName: members reach each other by their names on the
// drill's network, and the harness reaches them on 127.0.0.1.
func TestMembersResolveByName(t *testing.T) {
	be, _, _ := newBackend(t)
	c := startCluster(t, be, 3)
	leader(t, c)
	for _, m := range c.Members() {
		if want := "http://" + m.Name() + ":2380"; m.PeerURL() != want {
			t.Errorf("member %s PeerURL %q, want %q", m.Name(), m.PeerURL(), want)
		}
		u, err := url.Parse(m.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
			t.Errorf("member %s ClientURL %q, want a published port on 127.0.0.1", m.Name(), m.ClientURL())
		}
	}
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Members) != 3 {
		t.Fatalf("member list %v, want 3 members", resp.Members)
	}
	for _, m := range resp.Members {
		if want := "http://" + m.Name + ":2380"; len(m.PeerURLs) != 1 || m.PeerURLs[0] != want {
			t.Errorf("member list: %s has peer URLs %v, want [%s]", m.Name, m.PeerURLs, want)
		}
	}
	if err := put(ctx, cli, "k", "v", 2*time.Second); err != nil {
		t.Fatalf("write through 127.0.0.1: %v", err)
	}
}

// TestKill: Kill is docker kill; when it returns the container has stopped,
// and the survivors elect and take writes.
func TestKill(t *testing.T) {
	be, _, dcli := newBackend(t)
	c := startCluster(t, be, 3)
	l := leader(t, c)
	id := containerID(t, l)
	if err := l.Kill(); err != nil {
		t.Fatal(err)
	}
	if !backendtest.Exited(l) {
		t.Fatal("Exited not closed when Kill returned")
	}
	if st := l.ExitStatus(); !st.Killed || st.Err != nil || st.Panic != "" {
		t.Fatalf("exit status %+v, want Killed, no error, no panic", st)
	}
	res, err := inspect(t, dcli, id)
	if err != nil {
		t.Fatalf("inspect the killed member's container: %v", err)
	}
	if st := res.Container.State; st == nil || st.Running || st.Paused {
		t.Fatalf("killed member's container state %+v, want not running", st)
	}
	survivors, err := c.Client(c.Live()...)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Live()); n != 2 {
		t.Fatalf("%d live members after killing 1 of 3", n)
	}
	ctx := context.Background()
	backendtest.Eventually(t, 15*time.Second, "survivors take a write", func() error {
		return put(ctx, survivors, "after", "v", time.Second)
	})
	if nl := leader(t, c); nl.Name() == l.Name() {
		t.Fatalf("the killed member %s still leads", l.Name())
	}
}

// TestRestartKeepsData: a member restarted on its bind-mounted data dir
// keeps what it had.
func TestRestartKeepsData(t *testing.T) {
	be, _, _ := newBackend(t)
	c := startCluster(t, be, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, cli, "kept", "v1", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	old := c.Members()[0]
	oldID := containerID(t, old)
	if err := old.Kill(); err != nil {
		t.Fatal(err)
	}
	m, err := c.Restart(ctx, old.Name())
	if err != nil {
		t.Fatalf("restart after kill: %v", err)
	}
	if containerID(t, m) == oldID {
		t.Fatal("restarted member runs in the killed one's container")
	}
	if m.DataDir() != old.DataDir() {
		t.Fatalf("restarted on %s, want %s", m.DataDir(), old.DataDir())
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	backendtest.ExpectKey(ctx, t, c, "kept", "v1")
	if st := old.ExitStatus(); !st.Killed || st.Panic != "" {
		t.Fatalf("killed member's exit status %+v", st)
	}
}

func TestPauseResume(t *testing.T) {
	be, _, dcli := newBackend(t)
	c := startCluster(t, be, 1)
	backendtest.PauseResume(t, c, func(m backend.Member) {
		if res, err := inspect(t, dcli, containerID(t, m)); err != nil || res.Container.State == nil || !res.Container.State.Paused {
			t.Fatalf("container of the paused member: %+v, %v; want paused", res.Container.State, err)
		}
	})
}

// TestIsolateHeal cuts two of three members off the drill's network: the
// third takes no write; healed, the cluster takes writes again and the
// healed members answer where they are published now.
func TestIsolateHeal(t *testing.T) {
	be, _, _ := newBackend(t)
	c := startCluster(t, be, 3)
	leader(t, c)
	ctx := context.Background()
	all, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, all, "before", "v", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if !c.CanPartition() {
		t.Fatal("a container cluster cannot be partitioned")
	}
	before := map[string]string{}
	for _, m := range c.Members() {
		before[m.Name()] = m.ClientURL()
	}
	if err := c.Isolate(ctx, "m1", "m2"); err != nil {
		t.Fatal(err)
	}
	healed := false
	defer func() {
		if !healed {
			c.Heal(context.Background())
		}
	}()
	third, err := c.Client(c.Member("m3"))
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, third, "isolated", "v", 750*time.Millisecond); err == nil {
		t.Fatal("m3 took a write with m1 and m2 cut off")
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	healed = true
	backendtest.Eventually(t, 15*time.Second, "a write after the heal", func() error {
		cli, err := c.Client() // the members' current client URLs
		if err != nil {
			return err
		}
		return put(ctx, cli, "healed", "v", time.Second)
	})
	for _, name := range []string{"m1", "m2"} {
		m := c.Member(name)
		t.Logf("%s: client URL %s before isolating, %s after the heal", name, before[name], m.ClientURL())
		cli, err := c.Client(m)
		if err != nil {
			t.Fatal(err)
		}
		backendtest.Eventually(t, 15*time.Second, name+" answers on its client URL after the heal", func() error {
			gctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			resp, err := cli.Get(gctx, "healed")
			if err != nil {
				return err
			}
			if len(resp.Kvs) != 1 {
				return fmt.Errorf("%s does not have the write made after the heal", name)
			}
			return nil
		})
	}
}

// TestMemberPanic: a member's panic is read from its container's log, which
// the member's log file holds.
func TestMemberPanic(t *testing.T) {
	be, _, _ := newBackend(t)
	c := startCluster(t, be, 2)
	leader(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	victim, _ := backendtest.PanicOnSchemelessUpdate(ctx, t, c)
	spec, ok := c.Spec("m1")
	if !ok || spec.LogPath != victim.LogPath() {
		t.Fatalf("m1's spec %+v (found %v) does not name its log %s", spec, ok, victim.LogPath())
	}
	log, err := os.ReadFile(spec.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	var jsonLines int
	for _, line := range strings.Split(string(log), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("m1's log line is not JSON: %v: %s", err, line)
		}
		if entry["level"] == nil || entry["msg"] == nil {
			t.Fatalf("m1's log line is no etcd log entry (level, msg): %s", line)
		}
		jsonLines++
	}
	if jsonLines < 10 {
		t.Fatalf("m1's log %s holds %d etcd JSON lines, want its whole run", spec.LogPath, jsonLines)
	}
	if !strings.Contains(string(log), `"msg":"failed NewURLs"`) {
		t.Fatalf("m1's log %s does not hold the panic's log line", spec.LogPath)
	}
}

// TestCloseRemovesEverything: Close removes the containers of running (and
// paused) members and the drill's network.
func TestCloseRemovesEverything(t *testing.T) {
	be, run, dcli := newBackend(t)
	c := startCluster(t, be, 3)
	ms := c.Members()
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = containerID(t, m)
	}
	// A paused member is no obstacle to Close.
	if err := ms[2].(backend.Pauser).Pause(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cs, ns, err := labelled(ctx, dcli, run); err != nil || len(cs) != 3 || len(ns) != 1 {
		t.Fatalf("before Close: containers %v, networks %v (%v); want 3 and 1", cs, ns, err)
	}
	backendtest.CloseKillsEveryMember(ctx, t, be, c, ms, func(i int, m backend.Member) {
		if _, err := inspect(t, dcli, ids[i]); err == nil {
			t.Fatalf("container of %s still there after Close", m.Name())
		}
	})
	assertNoLeftovers(t, dcli, run)
}

// TestCleanupKilledRun: Cleanup removes what a run that never closed its
// backend (killed outright) left, and the backend's Close then still works.
func TestCleanupKilledRun(t *testing.T) {
	be, run, dcli := newBackend(t)
	_, specs := backendtest.Plan(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := be.Start(ctx, be.Layout(specs)[0])
	if err != nil {
		t.Fatal(err)
	}
	// Another run's network is not this run's to remove.
	_, otherRun, _ := newBackend(t)
	// Everything carries the harness's process id: a cleanup of all runs
	// leaves alone what a live harness uses.
	pidFilter := make(client.Filters).Add("label", container.LabelRun+"="+run).Add("label", container.LabelPID+"="+strconv.Itoa(os.Getpid()))
	cs, err := dcli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: pidFilter})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := dcli.NetworkList(ctx, client.NetworkListOptions{Filters: pidFilter})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Items) != 1 || len(ns.Items) != 1 {
		t.Errorf("%d containers and %d networks of run %s carry %s=%d (this process), want 1 and 1", len(cs.Items), len(ns.Items), run, container.LabelPID, os.Getpid())
	}
	// With the run named, Cleanup removes its things though their harness
	// (this process) still runs, as for a run it knows was killed.
	r, err := container.Cleanup(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Containers != 1 || r.Networks != 1 || r.Volumes != 0 || r.InUse != 0 {
		t.Errorf("Cleanup(%s) = %+v, want 1 container and 1 network removed, none left in use", run, r)
	}
	assertNoLeftovers(t, dcli, run)
	if _, ns, err := labelled(ctx, dcli, otherRun); err != nil || len(ns) != 1 {
		t.Errorf("Cleanup(%s) touched run %s: its networks %v (%v), want 1", run, otherRun, ns, err)
	}
	select {
	case <-m.Exited():
	case <-ctx.Done():
		t.Fatal("member not exited after its container was removed")
	}
	if err := be.Close(ctx); err != nil {
		t.Errorf("Close after Cleanup removed its containers and network: %v", err)
	}
}

// BenchmarkKill measures how long Kill (docker kill) takes to put one
// member of a 3-member container cluster out of service. Each iteration
// kills a member of a healthy cluster and restarts it outside the timer;
// run it with a fixed count (-benchtime 10x): a restart takes seconds.
func BenchmarkKill(b *testing.B) {
	be, _, _ := newBackend(b)
	c := startCluster(b, be, 3)
	ctx := context.Background()
	var kt backendtest.KillTimes
	b.StopTimer() // KillTimes runs it for the Kill only
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := c.Members()[i%3]
		kt.Kill(b, m)
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		_, err := c.Restart(rctx, m.Name())
		if err == nil {
			err = c.WaitHealthy(rctx)
		}
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	kt.Report(b)
}
