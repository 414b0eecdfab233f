package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// signalBound is how soon after a signal the drill must have exited: its
// cleanup included.
const signalBound = 10 * time.Second

// TestSignalEachStep delivers SIGINT or SIGTERM as each step of the pipeline
// begins (the failpoint sends the real signal to the process), on the
// embedded and process backends: the drill must stop within a few seconds,
// exit 130 or 143, say FAIL, end with a clean cleanup, and leave no run
// directory, process or listener. Each step gets SIGINT on one backend and
// SIGTERM on the other.
func TestSignalEachStep(t *testing.T) {
	for bi, be := range []string{"embedded", "process"} {
		for si, step := range steps {
			sig, code := "INT", 130
			if (bi+si)%2 == 1 {
				sig, code = "TERM", 143
			}
			t.Run(be+"/"+step+"/"+sig, func(t *testing.T) {
				tmp := t.TempDir()
				reportPath := filepath.Join(t.TempDir(), "report.json")
				environ := append(env(tmp), failpointSignal+"="+step+":"+sig)
				start := time.Now()
				r := runCLIIn(t, "", environ, "run", scenario, "--backend", be, "--keys", "500", "--report", reportPath)
				took := time.Since(start)
				if r.code != code {
					t.Fatalf("exit status %d after SIG%s in step %s, want %d\n%v", r.code, sig, step, code, r)
				}
				// The whole drill of 500 keys takes about 2 s: one interrupted
				// in any step ends well within the bound.
				if took > signalBound+5*time.Second {
					t.Errorf("the interrupted drill took %v", took)
				}
				got := stepLines(t, r.stdout)
				if len(got) == 0 || got[len(got)-1] != "cleanup" {
					t.Errorf("steps %v do not end in cleanup\n%v", got, r)
				}
				if strings.Contains(r.stdout, "cleanup") && strings.Contains(lineOf(r.stdout, "cleanup"), "ERROR") {
					t.Errorf("cleanup failed: %s", lineOf(r.stdout, "cleanup"))
				}
				// A drill interrupted before its last step cannot pass. A
				// signal is delivered asynchronously: one sent as a short
				// last step begins may land only after it (or in the
				// cleanup), when every assertion already ran; the drill may
				// then say PASS, but only with every step done.
				if !strings.Contains(r.stdout, "\nFAIL "+scenario+" ") && !slices.Equal(got, steps) {
					t.Errorf("the interrupted drill says neither FAIL nor that every step ran:\n%v", r)
				}
				assertNoLogLines(t, "stderr", r.stderr)
				assertNoProcessIn(t, tmp)
				assertEmptyDir(t, tmp)
				m := decodeReport(t, reportPath)
				if urls, ok := m["urls"].([]any); ok {
					assertNothingListens(t, urls)
				}
			})
		}
	}
}

// lineOf is the first line of out whose first field is name.
func lineOf(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return l
		}
	}
	return ""
}

// TestSecondSignalExitsAtOnce: a second signal during the cleanup of the
// first ends the process at once with the second's status, even while the
// drill is still cleaning up.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", scenario, "--keys", "200000")
	cmd.Env = env(tmp)
	var stdout, stderr lockedWriter
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	// The workload of 200,000 keys runs for many seconds: wait until it
	// writes, then signal twice.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "start-cluster") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			t.Fatalf("no start-cluster line in 30 s\n%s\n%s", &stdout, &stderr)
		}
		select {
		case <-exited:
			t.Fatalf("exited early\n%s\n%s", &stdout, &stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	select {
	case <-exited:
	case <-time.After(signalBound):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("still running %v after two signals", signalBound)
	}
	t.Logf("exited %v after the second signal", time.Since(sent).Round(time.Millisecond))
	// Two signals sent together may arrive in either order.
	if code := cmd.ProcessState.ExitCode(); code != 130 && code != 143 {
		t.Errorf("exit status %d after SIGTERM and SIGINT, want 130 or 143\n%s\n%s", code, &stdout, &stderr)
	}
	// At once: without the cleanup and the summary a first signal leads to.
	if out := stdout.String(); strings.Contains(out, "\nFAIL ") || lineOf(out, "cleanup") != "" {
		t.Errorf("the second signal did not end the process at once: it cleaned up and summed up\n%s", out)
	}
}

// lockedWriter is a buffer a child writes to while the test reads it.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
