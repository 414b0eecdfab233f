package process_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/backend/backendtest"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/backend/process"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/harness/ports"
)

// newBackend returns a process backend on the repository's etcd binaries,
// closed with tb.
func newBackend(tb testing.TB) *process.Backend {
	tb.Helper()
	b, err := bins.Find("")
	if err != nil {
		tb.Fatalf("process backend tests run real etcd binaries; `make bins` builds them into bin/: %v", err)
	}
	be, err := process.New(b)
	if err != nil {
		tb.Fatalf("process backend on %s (`make bins` builds the binaries): %v", b.Etcd, err)
	}
	backendtest.CloseAtEnd(tb, be, 30*time.Second)
	return be
}

// startCluster starts size members on a new process backend, closing
// cluster and backend with tb.
func startCluster(tb testing.TB, size int) (*harness.Cluster, *process.Backend) {
	tb.Helper()
	be := newBackend(tb)
	return backendtest.StartCluster(tb, be, size, 30*time.Second), be
}

func pidOf(tb testing.TB, m backend.Member) int {
	tb.Helper()
	p, ok := m.(interface{ Pid() int })
	if !ok {
		tb.Fatalf("member %s (%T) has no Pid method", m.Name(), m)
	}
	return p.Pid()
}

// gone says whether pid no longer runs: no such process, or a zombie left
// for someone else to reap.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// reaped checks that pid is no process at all any more: the backend reaps
// its children before it reports them exited.
func reaped(tb testing.TB, pid int) {
	tb.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		tb.Fatalf("pid %d: kill(pid, 0) = %v, want ESRCH", pid, err)
	}
}

func put(ctx context.Context, cli *clientv3.Client, key, val string) error {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := cli.Put(pctx, key, val)
	return err
}

func TestKillTakesEffectAtOnce(t *testing.T) {
	c, _ := startCluster(t, 3)
	ctx := context.Background()
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var leader backend.Member
	backendtest.Eventually(t, 10*time.Second, "a leader", func() (err error) {
		leader, err = c.Leader(lctx)
		return err
	})
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, cli, "before", "v"); err != nil {
		t.Fatalf("write before the kill: %v", err)
	}
	pid := pidOf(t, leader)
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	// All of this holds the moment Kill returns: no waiting.
	reaped(t, pid)
	if !backendtest.Exited(leader) {
		t.Fatal("Exited not closed when Kill returned")
	}
	st := leader.ExitStatus()
	if !st.Killed || st.Err != nil || st.Panic != "" {
		t.Fatalf("exit status %+v, want Killed, no error, no panic", st)
	}
	if err := leakcheck.Ports([]string{leader.ClientURL(), leader.PeerURL()}); err != nil {
		t.Fatal(err)
	}
	if live := c.Live(); len(live) != 2 {
		t.Fatalf("%d live members after killing 1 of 3", len(live))
	}
	survivors, err := c.Client(c.Live()...)
	if err != nil {
		t.Fatal(err)
	}
	backendtest.Eventually(t, 10*time.Second, "survivors take a write", func() error {
		return put(ctx, survivors, "after", "v")
	})
	var newLeader backend.Member
	backendtest.Eventually(t, 5*time.Second, "survivors have a leader", func() (err error) {
		newLeader, err = c.Leader(lctx)
		return err
	})
	if newLeader.Name() == leader.Name() {
		t.Fatalf("the killed member %s still leads", leader.Name())
	}
}

func TestStopIsGraceful(t *testing.T) {
	c, _ := startCluster(t, 1)
	m := c.Members()[0]
	pid := pidOf(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	reaped(t, pid)
	if !backendtest.Exited(m) {
		t.Fatal("Exited not closed when Stop returned")
	}
	// etcd handles SIGTERM: it closes its server, then resets the handler and
	// sends itself SIGTERM again, so the process ends by that signal and has
	// no exit code. That is a clean stop, not the member's own error.
	st := m.ExitStatus()
	if st.Killed || st.Err != nil || st.Panic != "" || st.Code != -1 {
		t.Fatalf("exit status after Stop %+v, want not Killed, no error, no panic, Code -1 (ended by SIGTERM)", st)
	}
	log, err := os.ReadFile(m.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"received signal; shutting down"`, `"closed etcd server"`} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log of a graceful stop lacks %s", want)
		}
	}
	if err := leakcheck.Ports([]string{m.ClientURL(), m.PeerURL()}); err != nil {
		t.Fatal(err)
	}
}

func TestPauseResume(t *testing.T) {
	c, _ := startCluster(t, 1)
	backendtest.PauseResume(t, c, nil)
}

func TestRestartKeepsData(t *testing.T) {
	c, _ := startCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, cli, "kept", "v1"); err != nil {
		t.Fatal(err)
	}
	old := c.Members()[0]
	oldPid := pidOf(t, old)
	if err := old.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restart(ctx, old.Name()); err != nil {
		t.Fatalf("restart after kill: %v", err)
	}
	m := c.Member(old.Name())
	if m == old {
		t.Fatal("Restart left the killed member in place")
	}
	if pid := pidOf(t, m); pid == oldPid {
		t.Fatalf("restarted member has the killed one's pid %d", pid)
	}
	if m.DataDir() != old.DataDir() {
		t.Fatalf("restarted on %s, want %s", m.DataDir(), old.DataDir())
	}
	if _, err := c.Restart(ctx, m.Name()); err == nil {
		t.Fatal("Restart of a running member succeeded")
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	backendtest.ExpectKey(ctx, t, c, "kept", "v1")
	cli2, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, cli2, "kept", "v2"); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
	if st := old.ExitStatus(); !st.Killed || st.Panic != "" {
		t.Fatalf("killed member's exit status %+v", st)
	}
}

func TestMemberPanic(t *testing.T) {
	c, _ := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pid := pidOf(t, c.Member("m1"))
	victim, other := backendtest.PanicOnSchemelessUpdate(ctx, t, c)
	reaped(t, pid)
	// The harness goes on: the other member's process is untouched, and the
	// backend still starts members.
	if err := syscall.Kill(pidOf(t, other), 0); err != nil {
		t.Fatalf("m2's process: %v", err)
	}
	if err := leakcheck.Ports([]string{victim.ClientURL(), victim.PeerURL()}); err != nil {
		t.Fatal(err)
	}
	// A restart on its data dir replays the update and panics again, and the
	// second run's panic is read from its own part of the log.
	m, err := c.Restart(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Exited():
	case <-ctx.Done():
		t.Fatal("restarted m1 did not crash again")
	}
	if st := m.ExitStatus(); !strings.Contains(st.Panic, backendtest.PanicNewURLs) || st.Code != 2 {
		t.Fatalf("restarted m1's exit status %+v: want Code 2 and a panic naming %q", st, backendtest.PanicNewURLs)
	}
	log, err := os.ReadFile(m.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), `"msg":"failed NewURLs"`); n != 2 {
		t.Fatalf("m1's log holds %d NewURLs panics, want 2: one per run", n)
	}
}

// helperEnv makes the test binary a helper process: see TestHelperProcess.
const helperEnv = "GO_WANT_HELPER"

// TestHelperProcess is not a test: run by TestNoChildOutlivesKilledHarness
// in a child test binary, it starts a 1-member cluster in $HELPER_DIR,
// prints the member's pid and URLs, and blocks until it is killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process only")
	}
	be := newBackend(t)
	alloc := ports.New()
	specs, err := harness.Plan(alloc, harness.ClusterSpec{Size: 1, NamePrefix: "h", Dir: os.Getenv("HELPER_DIR"), Token: "helper", Timing: backendtest.Fast})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := harness.Start(ctx, be, alloc, specs)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Members()[0]
	fmt.Printf("ETCD %d %s %s\n", pidOf(t, m), m.ClientURL(), m.PeerURL())
	select {} // until SIGKILL
}

func TestNoChildOutlivesKilledHarness(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false", "-test.timeout=60s")
	// Everything the helper writes, TMPDIR included, is under dir, which
	// this test removes.
	cmd.Env = append(os.Environ(), helperEnv+"=1", "HELPER_DIR="+dir, "TMPDIR="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Should the test end before it kills the helper, do not leave it
	// behind (killing and reaping a reaped helper again does no harm).
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ETCD ") {
				lines <- sc.Text()
				break
			}
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("helper printed no etcd pid within 30 s")
	}
	f := strings.Fields(line)
	if len(f) != 4 {
		t.Fatalf("helper said %q, want ETCD pid clientURL peerURL", line)
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	urls := f[2:]
	// Be sure the pid is the helper's etcd before judging (or killing) it.
	cmdline, err := os.ReadFile("/proc/" + f[1] + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), dir) {
		t.Fatalf("pid %d is not the helper's etcd (cmdline %q, %v)", pid, cmdline, err)
	}
	defer func() {
		// Should Pdeathsig fail, do not leave the etcd behind.
		if !gone(pid) {
			if b, _ := os.ReadFile("/proc/" + f[1] + "/cmdline"); strings.Contains(string(b), dir) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}()
	if gone(pid) {
		t.Fatalf("etcd pid %d not running before the helper is killed", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, want killed by SIGKILL", werr)
	}
	backendtest.Eventually(t, 5*time.Second, "etcd ends with the killed harness", func() error {
		if gone(pid) {
			return nil
		}
		return fmt.Errorf("etcd pid %d still running", pid)
	})
	backendtest.Eventually(t, 5*time.Second, "etcd's ports close", func() error {
		return leakcheck.Ports(urls)
	})
	// The helper's data dir and log are under dir, which t.TempDir removes.
	if _, err := os.Stat(filepath.Join(dir, "h1.etcd")); err != nil {
		t.Fatalf("helper's data dir: %v", err)
	}
}

func TestBackendCloseKillsEveryMember(t *testing.T) {
	c, be := startCluster(t, 3)
	ms := c.Members()
	pids := make([]int, len(ms))
	for i, m := range ms {
		pids[i] = pidOf(t, m)
	}
	// One member already gone by itself is no obstacle to Close.
	if err := ms[2].Kill(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	backendtest.CloseKillsEveryMember(ctx, t, be, c, ms, func(i int, m backend.Member) {
		reaped(t, pids[i])
		if err := leakcheck.Ports([]string{m.ClientURL(), m.PeerURL()}); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkKill measures how long Kill takes to put one member of a
// 3-member process cluster out of service (target: within 50 ms).
func BenchmarkKill(b *testing.B) {
	backendtest.KillInFreshClusters(b, func() *harness.Cluster {
		c, _ := startCluster(b, 3)
		return c
	})
}
