package recovery

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/logs"
)

// runScript runs script as the restore phase of a runbook with budget
// maxLog, and returns the phase, the drill and how long the run took.
func runScript(t *testing.T, script string, maxLog int64) (*phaseRun, *harness.Drill, time.Duration) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "runbook.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	d := &harness.Drill{RunDir: dir}
	r := Runbook{Path: path, Timeout: 30 * time.Second, MaxLogBytes: maxLog}
	start := time.Now()
	ph, err := r.run(context.Background(), d, "restore", nil)
	took := time.Since(start)
	t.Cleanup(func() { ph.end(context.Background()) })
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return ph, d, took
}

func copyDone(ph *phaseRun) bool {
	select {
	case <-ph.copied:
		return true
	default:
		return false
	}
}

// TestRunbookOutputOutlivesScript: a runbook that leaves a process in the
// background holding its output returns when the script exits; its output
// is complete once the phase has ended.
func TestRunbookOutputOutlivesScript(t *testing.T) {
	ph, d, took := runScript(t, "#!/bin/sh\necho \"phase $1\"\nsleep 60 &\necho started\n", 0)
	if took > 10*time.Second {
		t.Fatalf("run took %v: it waited for the background process", took)
	}
	if copyDone(ph) {
		t.Fatal("the output's copy ended while a background process holds it")
	}
	start := time.Now()
	if err := ph.end(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !copyDone(ph) {
		t.Fatal("the output's copy goes on after the phase ended")
	}
	if took := time.Since(start); took >= copyWait {
		t.Fatalf("end took %v: the group's end should end the copy", took)
	}
	out, err := os.ReadFile(Runbook{}.LogPath(d, "restore"))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "phase restore\nstarted\n" {
		t.Fatalf("runbook output %q", out)
	}
}

// TestRunbookOutputCapped: a runbook's output is capped, its first and last
// lines kept.
func TestRunbookOutputCapped(t *testing.T) {
	const budget = 64 << 10
	ph, d, _ := runScript(t, "#!/bin/sh\nseq 1 300000\necho last >&2\n", budget)
	if err := ph.end(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(Runbook{}.LogPath(d, "restore"))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > budget+300 {
		t.Fatalf("runbook output is %d bytes, budget %d", len(out), budget)
	}
	if !strings.HasPrefix(string(out), "1\n2\n") || !strings.HasSuffix(string(out), "\n300000\nlast\n") || !strings.Contains(string(out), logs.CappedMsg) {
		t.Fatalf("capped output lacks its head, its tail or the marker: %.100q...%q", out, out[max(0, len(out)-100):])
	}
}

// TestRunbookOutputEscapedHolder: a process out of the runbook's group
// (setsid) that holds its output does not keep the phase's end waiting
// longer than copyWait.
func TestRunbookOutputEscapedHolder(t *testing.T) {
	ph, d, _ := runScript(t, "#!/bin/sh\necho before\nsetsid sh -c 'echo $$ > escaped.tmp && mv escaped.tmp escaped.pid && exec sleep 60' &\n", 0)
	pidFile := filepath.Join(d.RunDir, "runbook", "escaped.pid")
	var pid int
	for deadline := time.Now().Add(10 * time.Second); pid == 0; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
				t.Fatal(err)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("the escaped process wrote no pid: %v", err)
		}
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	start := time.Now()
	if err := ph.end(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !copyDone(ph) || took > copyWait+2*time.Second {
		t.Fatalf("end took %v (copy done %v), want about %v", took, copyDone(ph), copyWait)
	}
	out, _ := os.ReadFile(Runbook{}.LogPath(d, "restore"))
	if string(out) != "before\n" {
		t.Fatalf("runbook output %q", out)
	}
}
