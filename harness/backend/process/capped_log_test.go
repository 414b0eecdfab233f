package process_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/backend/backendtest"
	"github.com/etcd-drill/etcd-drill/harness/backend/process"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/logs"
)

const spinMsg = "failed to publish local member to cluster through raft"

// floodingEtcd is a fake etcd binary: it knows its version, then logs a
// boot line, spins writing `lines` identical lines (stdout), panics as
// etcd does (a JSON panic line, then Go's panic and trace on stderr) and
// exits 2, as Go does on a panic.
const floodingEtcd = `#!/bin/sh
case "$1" in --version) echo "etcd Version: 3.7.3"; echo "Git SHA: fake"; exit 0;; esac
echo '{"level":"info","ts":"2026-12-03T08:01:02.000000Z","caller":"etcdmain/etcd.go:64","msg":"running etcd (fake)"}'
yes '{"level":"warn","ts":"2026-12-03T08:01:03.000000Z","caller":"etcdserver/server.go:2108","msg":"` + spinMsg + `","publish-timeout":"7s","error":"etcdserver: too many requests"}' | head -n "$FAKE_LINES"
echo '{"level":"panic","ts":"2026-12-03T08:01:09.000000Z","caller":"rafthttp/transport.go:350","msg":"failed NewURLs","error":"URL address does not have the form \"host:port\""}' >&2
echo 'panic: failed NewURLs' >&2
echo '' >&2
echo 'goroutine 212 [running]:' >&2
printf '\tgo.etcd.io/etcd/server/v3/etcdserver/api/rafthttp.(*Transport).UpdatePeer(0xc000, 0x1)\n' >&2
exit 2
`

// fakeBackend is a process backend on the fake etcd script.
func fakeBackend(t *testing.T, script string) *process.Backend {
	t.Helper()
	path := filepath.Join(t.TempDir(), "etcd")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	be, err := process.New(bins.Binaries{Etcd: path})
	if err != nil {
		t.Fatalf("fake etcd %s: %v", path, err)
	}
	backendtest.CloseAtEnd(t, be, 10*time.Second)
	return be
}

// runToExit starts the member of spec and waits for it to exit by itself.
func runToExit(t *testing.T, be backend.Backend, spec backend.MemberSpec) backend.Exit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := be.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Exited():
	case <-ctx.Done():
		m.Kill()
		t.Fatal("the fake member did not exit")
	}
	return m.ExitStatus()
}

// TestCappedMemberLog: a member that floods its log keeps it within
// MaxLogBytes (each run: a restarted member appends), and its panic, at
// the end of the log, is still read.
func TestCappedMemberLog(t *testing.T) {
	t.Setenv("FAKE_LINES", "100000") // 16 MB
	be := fakeBackend(t, floodingEtcd)
	const budget = 256 << 10
	dir := t.TempDir()
	spec := backend.MemberSpec{
		Name: "f1", DataDir: filepath.Join(dir, "f1.etcd"), LogPath: filepath.Join(dir, "f1.log"),
		ClientURL: "http://127.0.0.1:1", PeerURL: "http://127.0.0.1:1",
		MaxLogBytes: budget,
	}
	var size int64
	for run := 1; run <= 2; run++ {
		x := runToExit(t, be, spec)
		if !strings.Contains(x.Panic, "failed NewURLs") || x.PanicCaller != "rafthttp/transport.go:350" || x.Code != 2 || x.Killed {
			t.Fatalf("run %d: exit status %+v, want the panic at the end of the capped log, Code 2", run, x)
		}
		fi, err := os.Stat(spec.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		if grew := fi.Size() - size; grew > budget+300 {
			t.Fatalf("run %d wrote %d bytes of log, budget %d", run, grew, budget)
		}
		size = fi.Size()
	}
	s, err := logs.Analyze(spec.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	// Every line of both runs is kept or counted: a boot line, the spin,
	// and the panic's four lines (its blank line aside).
	if want := int64(2 * (1 + 100000 + 4)); s.Lines+s.DroppedLines != want || s.Top != spinMsg {
		t.Fatalf("%v: want %d lines kept and dropped, most of them %q", s, want, spinMsg)
	}
	log, err := os.ReadFile(spec.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), `"msg":"running etcd (fake)"`); n != 2 {
		t.Fatalf("the log keeps %d boot lines, want both runs' heads", n)
	}
	if n := strings.Count(string(log), `"msg":"`+logs.CappedMsg+`"`); n != 2 {
		t.Fatalf("the log holds %d markers, want one a run", n)
	}
}

// TestCappedRealMemberLog: a real etcd's log, capped well under what it
// writes at boot, keeps its first lines and its last (its graceful stop).
func TestCappedRealMemberLog(t *testing.T) {
	be := newBackend(t)
	alloc, specs := backendtest.Plan(t, 1)
	spec := specs[0]
	spec.MaxLogBytes = 4 << 10
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := harness.Start(ctx, be, alloc, []backend.MemberSpec{spec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	m := c.Members()[0]
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(spec.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) > 4<<10+300 {
		t.Fatalf("log is %d bytes, budget %d", len(log), 4<<10)
	}
	for _, want := range []string{`"msg":"Running: "`, `"msg":"` + logs.CappedMsg + `"`, `"msg":"closed etcd server"`} {
		if !strings.Contains(string(log), want) {
			t.Errorf("capped log lacks %s:\n%s", want, log)
		}
	}
	if st := m.ExitStatus(); st.Err != nil || st.Panic != "" {
		t.Fatalf("exit status %+v", st)
	}
}
