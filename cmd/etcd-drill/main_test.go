package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dcontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/etcd-drill/etcd-drill/harness/backend/container"
	"github.com/etcd-drill/etcd-drill/harness/bins"
)

// The tests run the real binary, so exit codes, stdout and stderr are what a
// user or a CI script sees.

const scenario = "quorum-loss/snapshot-restore"

// steps are the step lines a snapshot-restore drill prints, in order.
var steps = []string{
	"start-cluster", "workload", "leases", "start-traffic", "compact", "snapshot", "workload-after-snapshot", "fault",
	"confirm-fault", "recover", "recovered-traffic", "verify", "check-leases", "check-history", "cleanup",
}

// binary is the etcd-drill built by TestMain.
var binary string

func TestMain(m *testing.M) {
	// testcontainers prints the engine's details on its first connection.
	tclog.SetDefault(tclog.NewNoopLogger())
	dir, err := os.MkdirTemp("", "drill-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "make build dir:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "etcd-drill")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build etcd-drill:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is this process's environment with TMPDIR set to tmp.
func env(tmp string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMPDIR=") {
			out = append(out, kv)
		}
	}
	return append(out, "TMPDIR="+tmp)
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs etcd-drill with args and TMPDIR=tmp in the package directory
// (bin/ of the repository is found above it), and waits at most a minute.
func runCLI(t *testing.T, tmp string, args ...string) result {
	t.Helper()
	return runCLIIn(t, "", env(tmp), args...)
}

// runCLIIn runs etcd-drill with args in dir (the package directory if
// empty) with the environment environ, and waits at most a minute.
func runCLIIn(t *testing.T, dir string, environ []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("etcd-drill %s: still running after a minute; stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), &stdout, &stderr)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("etcd-drill %s: %v", strings.Join(args, " "), err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// assertEmptyDir fails if dir holds anything, such as a run directory
// (etcd-drill-*) the drill should have removed.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) > 0 {
		t.Errorf("%s is not empty after the run: %v", dir, names)
	}
}

// assertNoLogLines fails if out holds a JSON log line (a member's zap log).
func assertNoLogLines(t *testing.T, name, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "{") {
			t.Errorf("%s has a JSON log line: %s", name, line)
			return
		}
	}
}

func TestBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir", "report.json")
	isDir := t.TempDir()
	emptyBinDir := t.TempDir()
	noRunbook := filepath.Join(t.TempDir(), "no-such-runbook.sh")
	runbookDir := t.TempDir()
	notExec := filepath.Join(t.TempDir(), "not-executable.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(notExec, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	const wrongPeer = "wrong-peer-urls/snapshot-restore"
	cases := []struct {
		name string
		// args returns the arguments; it may set things up or skip.
		args func(t *testing.T) []string
		// want are strings the stderr line must hold: they name the problem.
		want []string
	}{
		{"scenario the backend cannot run", fixed("run", wrongPeer, "--keys", "100"), []string{wrongPeer, "embedded backend", "backends that can run it: process"}},
		{"scenario needs more members", fixed("run", wrongPeer, "--keys", "100", "--members", "1"), []string{wrongPeer, "at least 2 members", "got 1"}},
		{"bin-dir empty", fixed("run", scenario, "--keys", "100", "--backend", "process", "--bin-dir", emptyBinDir), []string{"--bin-dir " + emptyBinDir, "no executable etcd"}},
		{"bin-dir not etcd", notEtcdBinDir, []string{"--version", "no version"}},
		{"recovery runbook without runbook", fixed("run", scenario, "--keys", "100", "--recovery", "runbook"), []string{"--recovery runbook", "--runbook"}},
		{"runbook without recovery runbook", fixed("run", scenario, "--keys", "100", "--runbook", notExec), []string{"--runbook " + notExec, "--recovery runbook"}},
		{"runbook missing", fixed("run", scenario, "--keys", "100", "--recovery", "runbook", "--runbook", noRunbook), []string{noRunbook, "does not exist"}},
		{"runbook not executable", fixed("run", scenario, "--keys", "100", "--recovery", "runbook", "--runbook", notExec), []string{notExec, "not executable"}},
		{"runbook is a directory", fixed("run", scenario, "--keys", "100", "--recovery", "runbook", "--runbook", runbookDir), []string{runbookDir, "is a directory"}},
		{"unknown recovery", fixed("run", scenario, "--keys", "100", "--recovery", "nonsense"), []string{"--recovery nonsense", "runbook"}},
		{"unknown scenario", fixed("run", "no-such/scenario", "--keys", "100"), []string{`unknown scenario "no-such/scenario"`}},
		{"members 0", fixed("run", scenario, "--keys", "100", "--members", "0"), []string{"--members 0"}},
		{"members 10", fixed("run", scenario, "--keys", "100", "--members", "10"), []string{"--members 10"}},
		{"members x", fixed("run", scenario, "--keys", "100", "--members", "x"), []string{`"x"`, "-members"}},
		{"keys -1", fixed("run", scenario, "--keys", "-1"), []string{"--keys -1"}},
		{"read ratio 2", fixed("run", scenario, "--keys", "100", "--read-ratio", "2"), []string{"--read-ratio 2", "between 0 and 1"}},
		{"txn ratio -1", fixed("run", scenario, "--keys", "100", "--txn-ratio", "-1"), []string{"--txn-ratio -1", "between 0 and 1"}},
		{"txn size 1", fixed("run", scenario, "--keys", "100", "--txn-size", "1"), []string{"--txn-size 1", "between 2 and 100"}},
		{"traffic rate negative", fixed("run", scenario, "--keys", "100", "--traffic-rate", "-1"), []string{"--traffic-rate -1"}},
		{"traffic unknown", fixed("run", scenario, "--keys", "100", "--traffic", "bursty"), []string{"--traffic bursty", "continuous", "phased"}},
		{"batch 1", fixed("run", scenario, "--keys", "100", "--batch", "1"), []string{`"1"`, "-batch", "between 2 and 100"}},
		{"report dir missing", fixed("run", scenario, "--keys", "100", "--report", missing), []string{"--report", filepath.Dir(missing), "does not exist"}},
		{"report dir read-only", readOnlyReport, []string{"--report", "not writable"}},
		{"report is a directory", fixed("run", scenario, "--keys", "100", "--report", isDir), []string{"--report", "is a directory"}},
		{"no scenario", fixed("run"), []string{"scenario"}},
		{"no scenario, flags only", fixed("run", "--keys", "100"), []string{"scenario"}},
		{"two scenarios", fixed("run", scenario, scenario, "--keys", "100"), []string{"scenario", "2 arguments"}},
		{"unknown command", fixed("frobnicate"), []string{`unknown command "frobnicate"`}},
		{"no command", fixed(), []string{"no command"}},
		{"unknown flag", fixed("run", scenario, "--keys", "100", "--no-such-flag"), []string{"-no-such-flag"}},
		{"unknown backend", fixed("run", scenario, "--keys", "100", "--backend", "nope"), []string{`unknown backend "nope"`}},
		{"etcd version malformed", fixed("run", scenario, "--keys", "100", "--backend", "process", "--etcd-version", "v3.6"), []string{"--etcd-version", `"v3.6"`, "X.Y or X.Y.Z"}},
		{"etcd version on embedded", fixed("run", scenario, "--keys", "100", "--etcd-version", "3.1"), []string{"--etcd-version 3.1", "embedded", "--backend process"}},
		{"restore version on embedded", fixed("run", scenario, "--keys", "100", "--restore-version", "3.6"), []string{"--restore-version 3.6", "--backend process"}},
		{"migrate without restore version", fixed("run", scenario, "--keys", "100", "--backend", "process", "--migrate"), []string{"--migrate needs --restore-version"}},
		{"migrate upwards", fixed("run", scenario, "--keys", "100", "--backend", "process", "--etcd-version", "3.6", "--restore-version", "3.7", "--migrate"), []string{"--migrate", "older line"}},
		{"upgrade without --to", fixed("run", "upgrade/rolling", "--keys", "100", "--backend", "process"), []string{"upgrade/rolling needs --to"}},
		{"--to on a restore", fixed("run", scenario, "--keys", "100", "--backend", "process", "--to", "3.6"), []string{"--to 3.6", "upgrades nothing"}},
		{"upgrade to the same line", fixed("run", "upgrade/rolling", "--keys", "100", "--backend", "process", "--to", "3.7"), []string{"to 3.7: the same line", "nothing to move"}},
		{"upgrade on embedded", fixed("run", "upgrade/rolling", "--keys", "100", "--to", "3.6"), []string{"upgrade/rolling", "--backend process"}},
		{"rolling upgrade downwards", fixed("run", "upgrade/rolling", "--backend", "process", "--from", "3.7", "--to", "3.6"), []string{"--to 3.6 is older than --from 3.7", "downgrade/one-minor"}},
		{"rolling upgrade of several hops", fixed("run", "upgrade/rolling", "--backend", "process", "--path", "3.5,3.6,3.7"), []string{"takes one hop", "upgrade/hops"}},
		{"downgrade upwards", fixed("run", "downgrade/one-minor", "--backend", "process", "--from", "3.6", "--to", "3.7"), []string{"downgrade/one-minor goes down", "--to 3.7"}},
		{"hops going down", fixed("run", "upgrade/hops", "--backend", "process", "--path", "3.6,3.5"), []string{"--path 3.6,3.5", "every hop goes up"}},
		{"a path of one version", fixed("run", "upgrade/hops", "--backend", "process", "--path", "3.6"), []string{"--path 3.6", "two versions or more"}},
		{"a path that does not start on --from", fixed("run", "upgrade/hops", "--backend", "process", "--from", "3.6", "--path", "3.5,3.6,3.7"), []string{"starts on 3.5, not on --from 3.6"}},
		{"a path on a restore", fixed("run", scenario, "--backend", "process", "--path", "3.5,3.6"), []string{"--path 3.5,3.6", "moves no version"}},
		{"negative hop writes", fixed("run", "upgrade/hops", "--backend", "process", "--path", "3.5,3.6", "--hop-writes", "-1"), []string{"--hop-writes -1"}},
		{"a path version that is no version", fixed("run", "upgrade/hops", "--backend", "process", "--path", "3.5,x"), []string{"\"x\"", "X.Y"}},
		{"etcd version not built", fixed("run", scenario, "--keys", "100", "--backend", "process", "--etcd-version", "3.1"), []string{"etcd 3.1 binaries not found", "make bins-all VERSIONS=3.1"}},
		{"list with an argument", fixed("list", "extra"), []string{"list", `"extra"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args(t)
			tmp := t.TempDir()
			checkBadInput(t, runCLI(t, tmp, args...), tmp, tc.want...)
		})
	}
	// Nothing may be written where a report was refused.
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Errorf("%s exists after the runs: %v", filepath.Dir(missing), err)
	}
	assertEmptyDir(t, isDir)
	assertEmptyDir(t, emptyBinDir)
	assertEmptyDir(t, runbookDir)
}

// checkBadInput fails unless r is bad input: exit status 2, nothing on
// stdout, one line on stderr that holds every string of want, and nothing
// left in TMPDIR tmp.
func checkBadInput(t *testing.T, r result, tmp string, want ...string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit status %d, want 2\n%v", r.code, r)
	}
	if !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr is not exactly one line: %q", r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "etcd-drill: ") {
		t.Errorf("stderr does not start with \"etcd-drill: \": %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not name the problem: want %q in it", r.stderr, w)
		}
	}
	if r.stdout != "" {
		t.Errorf("bad input printed on stdout:\n%s", r.stdout)
	}
	assertEmptyDir(t, tmp)
}

// TestNoBinaries runs where no etcd binaries can be found (a working
// directory outside the repository, no ETCD_DRILL_BIN_DIR, no etcd on PATH):
// what needs them is bad input that says how to build them.
func TestNoBinaries(t *testing.T) {
	runbook, err := filepath.Abs("../../recovery/runbooks/recovery-guide.sh")
	if err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"process backend": {"run", scenario, "--keys", "100", "--backend", "process"},
		"runbook":         {"run", scenario, "--keys", "100", "--recovery", "runbook", "--runbook", runbook},
	} {
		t.Run(name, func(t *testing.T) {
			wd, tmp := t.TempDir(), t.TempDir()
			r := runCLIIn(t, wd, noBinsEnv(t, wd, tmp), args...)
			checkBadInput(t, r, tmp, "etcd binaries not found", "make bins")
			assertEmptyDir(t, wd)
		})
	}
}

// noBinsEnv is env(tmp) for a run in wd where bins.Find finds nothing:
// ETCD_DRILL_BIN_DIR unset and every PATH directory holding an etcd tool
// dropped. It skips the test if a bin/ above wd holds etcd.
func noBinsEnv(t *testing.T, wd, tmp string) []string {
	t.Helper()
	tools := []string{"etcd", "etcdctl", "etcdutl"}
	holdsTool := func(dir string) bool {
		for _, n := range tools {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				return true
			}
		}
		return false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if holdsTool(filepath.Join(d, "bin")) {
			t.Skipf("%s holds etcd tools: no working directory here is without binaries", filepath.Join(d, "bin"))
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	var path []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir != "" && !holdsTool(dir) {
			path = append(path, dir)
		}
	}
	var out []string
	for _, kv := range env(tmp) {
		if !strings.HasPrefix(kv, "ETCD_DRILL_BIN_DIR=") && !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	return append(out, "PATH="+strings.Join(path, string(filepath.ListSeparator)))
}

func fixed(args ...string) func(*testing.T) []string {
	return func(*testing.T) []string { return args }
}

// notEtcdBinDir points --bin-dir at executables named etcd, etcdctl and
// etcdutl that are not etcd: found up front, refused when the process
// backend asks etcd its version.
func notEtcdBinDir(t *testing.T) []string {
	dir := t.TempDir()
	for _, n := range []string{"etcd", "etcdctl", "etcdutl"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\necho not etcd\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"run", scenario, "--keys", "100", "--backend", "process", "--bin-dir", dir}
}

// readOnlyReport points --report into a directory the user cannot write.
func readOnlyReport(t *testing.T) []string {
	ro := filepath.Join(t.TempDir(), "read-only")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Chmod(ro, 0o755)
		assertEmptyDir(t, ro)
	})
	if f, err := os.CreateTemp(ro, "probe-"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Skipf("a 0555 directory is still writable here (uid %d, root ignores modes), so it cannot stand for a read-only one", os.Getuid())
	}
	return []string{"run", scenario, "--keys", "100", "--report", filepath.Join(ro, "report.json")}
}

func TestList(t *testing.T) {
	tmp := t.TempDir()
	r := runCLI(t, tmp, "list")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want exit 0 and nothing on stderr\n%v", r)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		name, desc, _ := strings.Cut(line, " ")
		if name == scenario {
			found = true
			if strings.TrimSpace(desc) == "" {
				t.Errorf("%s is listed without a description: %q", scenario, line)
			}
		}
	}
	if !found {
		t.Errorf("list does not name %s:\n%s", scenario, r.stdout)
	}
	assertEmptyDir(t, tmp)
}

func TestRunHelp(t *testing.T) {
	for _, args := range [][]string{{"run", "--help"}, {"run", scenario, "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			tmp := t.TempDir()
			r := runCLI(t, tmp, args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("want exit 0 and nothing on stderr\n%v", r)
			}
			if n := strings.Count(r.stdout, "usage: etcd-drill run"); n != 1 {
				t.Errorf("usage printed %d times, want once:\n%s", n, r.stdout)
			}
			for _, f := range []string{"-backend", "-members", "-keys", "-seed", "-report", "-keep"} {
				if !strings.Contains(r.stdout, "  "+f+" ") && !strings.Contains(r.stdout, "  "+f+"\n") {
					t.Errorf("help does not list flag %s:\n%s", f, r.stdout)
				}
			}
			assertEmptyDir(t, tmp)
		})
	}
}

// stepLines returns the names of the step lines of a drill's stdout, in order.
func stepLines(t *testing.T, stdout string) []string {
	t.Helper()
	known := map[string]bool{}
	for _, s := range steps {
		known[s] = true
	}
	var names []string
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if !strings.HasPrefix(line, "  ") || len(f) < 2 || !known[f[0]] {
			continue
		}
		if _, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "s"), 64); err != nil || !strings.HasSuffix(f[1], "s") {
			t.Errorf("step line without seconds: %q", line)
		}
		names = append(names, f[0])
	}
	return names
}

func decodeReport(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read report: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode report %s: %v", path, err)
	}
	return m
}

// get returns the field at a dotted path of a decoded report.
func get(t *testing.T, m map[string]any, path string) any {
	t.Helper()
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Errorf("report: %s: not inside an object", path)
			return nil
		}
		if cur, ok = obj[k]; !ok {
			t.Errorf("report: field %s missing", path)
			return nil
		}
	}
	return cur
}

// field returns the field at a dotted path of a decoded report as a T,
// failing the test if it is not one: kind says what a T is in JSON.
func field[T any](t *testing.T, m map[string]any, path, kind string) T {
	t.Helper()
	v, ok := get(t, m, path).(T)
	if !ok {
		t.Errorf("report: %s is not %s", path, kind)
	}
	return v
}

func num(t *testing.T, m map[string]any, path string) float64 {
	t.Helper()
	return field[float64](t, m, path, "a number")
}

func str(t *testing.T, m map[string]any, path string) string {
	t.Helper()
	return field[string](t, m, path, "a string")
}

func boolean(t *testing.T, m map[string]any, path string) bool {
	t.Helper()
	return field[bool](t, m, path, "a bool")
}

// list fails unless the field is a JSON list (not null).
func list(t *testing.T, m map[string]any, path string) []any {
	t.Helper()
	return field[[]any](t, m, path, "a list")
}

// TestDrill runs a small drill and checks its terminal output and the report
// contract of design.md.
func TestDrill(t *testing.T) {
	tmp := t.TempDir()
	reportPath := filepath.Join(t.TempDir(), "report.json")
	r := runCLI(t, tmp, "run", scenario, "--keys", "500", "--report", reportPath)
	if r.code != 0 {
		t.Fatalf("drill did not pass\n%v", r)
	}
	// Member logs never reach the terminal.
	if r.stderr != "" {
		t.Errorf("stderr is not empty:\n%s", r.stderr)
	}
	assertNoLogLines(t, "stdout", r.stdout)

	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "etcd-drill "+scenario+" ") {
		t.Errorf("first line is not the drill's header: %q", lines[0])
	}
	if got := stepLines(t, r.stdout); !slices.Equal(got, steps) {
		t.Errorf("step lines %v, want %v\n%s", got, steps, r.stdout)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "PASS "+scenario+" ") {
		t.Errorf("last line is not PASS: %q", last)
	}
	assertEmptyDir(t, tmp)

	m := decodeReport(t, reportPath)
	for path, want := range map[string]string{
		"scenario": scenario, "backend": "embedded", "etcd_version": "3.7.3",
	} {
		if got := str(t, m, path); got != want {
			t.Errorf("report %s = %q, want %q", path, got, want)
		}
	}
	for path, want := range map[string]float64{
		"members": 3, "seed": 1, "keys.lost": 0, "keys.resurrected": 0,
	} {
		if got := num(t, m, path); got != want {
			t.Errorf("report %s = %v, want %v", path, got, want)
		}
	}
	for _, path := range []string{"passed", "snapshot.hash_checked", "cluster.id_changed", "cluster.hashkv_consistent"} {
		if !boolean(t, m, path) {
			t.Errorf("report %s is false", path)
		}
	}
	for _, path := range []string{"snapshot.revision", "snapshot.size_bytes", "rpo.writes_after_snapshot", "rto_seconds"} {
		if v := num(t, m, path); v <= 0 {
			t.Errorf("report %s = %v, want > 0", path, v)
		}
	}
	// Every write is sent; a write caught in a leader change under load is
	// indeterminate, not acknowledged, and that is no failure of the drill.
	if w, a := num(t, m, "workload.writes"), num(t, m, "keys.acknowledged"); w < 500 || a <= 0 || a > w {
		t.Errorf("report workload.writes = %v, keys.acknowledged = %v: want >= 500 writes, some and at most all acknowledged", w, a)
	}
	// Keys a write in doubt explains may be there or not.
	if e, rs, d := num(t, m, "keys.expected"), num(t, m, "keys.restored"), num(t, m, "keys.indeterminate"); e == 0 || rs < e-d || rs > e+d {
		t.Errorf("report keys.expected %v, keys.restored %v, keys.indeterminate %v: want as many restored as expected, but for those in doubt", e, rs, d)
	}
	// The writers ran through the fault: those cut off by it were left
	// without an answer, and the recovered cluster took its share.
	if d, a := num(t, m, "traffic.old.indeterminate"), num(t, m, "traffic.recovered.acknowledged"); d == 0 || a < 10 {
		t.Errorf("report traffic.old.indeterminate %v, traffic.recovered.acknowledged %v: want some writes cut off by the fault, 10 or more taken by the recovered cluster", d, a)
	}
	if g := num(t, m, "traffic.longest_writer_gap_seconds"); g < num(t, m, "rto_seconds") {
		t.Errorf("report traffic.longest_writer_gap_seconds %v: want at least the RTO %v", g, num(t, m, "rto_seconds"))
	}
	oldID, newID := str(t, m, "cluster.old_id"), str(t, m, "cluster.new_id")
	if oldID == "" || newID == "" || oldID == newID {
		t.Errorf("report cluster.old_id %q, new_id %q: want two different IDs", oldID, newID)
	}
	if f := list(t, m, "failures"); len(f) != 0 {
		t.Errorf("report failures = %v, want []", f)
	}
	if p := list(t, m, "panics"); len(p) != 0 {
		t.Errorf("report panics = %v, want []", p)
	}
	var names []string
	for i, s := range list(t, m, "steps") {
		step, ok := s.(map[string]any)
		if !ok {
			t.Errorf("report steps[%d] is not an object", i)
			continue
		}
		name := str(t, step, "name")
		names = append(names, name)
		if sec := num(t, step, "seconds"); sec <= 0 {
			t.Errorf("report step %s took %v seconds, want > 0", name, sec)
		}
		if e := str(t, step, "error"); e != "" {
			t.Errorf("report step %s has error %q", name, e)
		}
	}
	if !slices.Equal(names, steps) {
		t.Errorf("report steps %v, want %v", names, steps)
	}
}

func TestKeep(t *testing.T) {
	tmp := t.TempDir()
	r := runCLI(t, tmp, "run", scenario, "--keys", "500", "--seed", "7", "--keep")
	if r.code != 0 {
		t.Fatalf("drill did not pass\n%v", r)
	}
	var kept string
	for _, line := range strings.Split(r.stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "kept:"); ok {
			kept = strings.TrimSpace(rest)
		}
	}
	if kept == "" {
		t.Fatalf("stdout does not name the kept run directory (kept:)\n%v", r)
	}
	if filepath.Dir(kept) != tmp || !strings.HasPrefix(filepath.Base(kept), "etcd-drill-") {
		t.Errorf("kept %s, want an etcd-drill-* directory in TMPDIR %s", kept, tmp)
	}
	for _, f := range []string{"cluster/m1.log", "cluster/m2.log", "cluster/m3.log", "snapshot.db", "report.json"} {
		fi, err := os.Stat(filepath.Join(kept, f))
		if err != nil {
			t.Errorf("kept run directory lacks %s: %v", f, err)
		} else if fi.Size() == 0 {
			t.Errorf("kept %s is empty", f)
		}
	}
	if _, err := os.Stat(filepath.Join(kept, "report.json")); err == nil {
		m := decodeReport(t, filepath.Join(kept, "report.json"))
		if !boolean(t, m, "passed") || !boolean(t, m, "kept") || num(t, m, "seed") != 7 || str(t, m, "run_dir") != kept {
			t.Errorf("kept report.json: passed %v, kept %v, seed %v, run_dir %q; want true, true, 7, %q",
				m["passed"], m["kept"], m["seed"], m["run_dir"], kept)
		}
	}
	if err := os.RemoveAll(kept); err != nil {
		t.Fatal(err)
	}
	assertEmptyDir(t, tmp)
}

func TestFiveMembers(t *testing.T) {
	tmp := t.TempDir()
	reportPath := filepath.Join(t.TempDir(), "report.json")
	r := runCLI(t, tmp, "run", scenario, "--members", "5", "--keys", "2000", "--report", reportPath)
	if r.code != 0 {
		t.Fatalf("drill did not pass\n%v", r)
	}
	m := decodeReport(t, reportPath)
	if n := num(t, m, "members"); n != 5 {
		t.Errorf("report members = %v, want 5", n)
	}
	if ms := list(t, m, "cluster.members"); len(ms) != 5 {
		t.Errorf("report cluster.members = %v, want 5 members", ms)
	}
	assertEmptyDir(t, tmp)
}

// lockedBuffer collects a child's stdout while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(line + "\n")
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestInterrupt sends Ctrl-C from outside during a long workload: the drill
// must stop, clean up and exit 130.
func TestInterrupt(t *testing.T) {
	const deadline = 30 * time.Second
	tmp := t.TempDir()
	reportPath := filepath.Join(t.TempDir(), "report.json")
	const keys = 200000
	cmd := exec.Command(binary, "run", scenario, "--keys", strconv.Itoa(keys), "--report", reportPath)
	cmd.Env = env(tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stdout lockedBuffer
	started := make(chan struct{})
	exited := make(chan error, 1)
	go func() {
		once := sync.Once{}
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			stdout.add(sc.Text())
			if f := strings.Fields(sc.Text()); len(f) > 0 && f[0] == "start-cluster" {
				once.Do(func() { close(started) })
			}
		}
		exited <- cmd.Wait() // after the last read, as StdoutPipe wants
	}()
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			<-exited
		}
	})

	select {
	case <-started:
	case err := <-exited:
		waited = true
		t.Fatalf("drill exited (%v) before the start-cluster line\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	case <-time.After(deadline):
		t.Fatalf("no start-cluster line within %v\nstdout:\n%s\nstderr:\n%s", deadline, &stdout, &stderr)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	select {
	case <-exited:
		waited = true
	case <-time.After(deadline):
		t.Fatalf("drill still running %v after SIGINT\nstdout:\n%s\nstderr:\n%s", deadline, &stdout, &stderr)
	}
	t.Logf("exited %v after SIGINT", time.Since(sent).Round(time.Millisecond))
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit status %d after SIGINT, want 130\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	assertEmptyDir(t, tmp)
	assertNoLogLines(t, "stderr", stderr.String())
	out := stdout.String()
	if got := stepLines(t, out); len(got) == 0 || got[len(got)-1] != "cleanup" {
		t.Errorf("interrupted drill's steps %v do not end in cleanup\n%s", got, out)
	}
	if !strings.Contains(out, "\nFAIL "+scenario+" ") {
		t.Errorf("interrupted drill does not say FAIL:\n%s", out)
	}
	m := decodeReport(t, reportPath)
	if boolean(t, m, "passed") {
		t.Errorf("interrupted drill's report says passed")
	}
	if w := num(t, m, "workload.writes"); w >= keys {
		t.Errorf("interrupted drill wrote %v of %d keys: SIGINT did not stop the workload", w, keys)
	}
}

// repoRoot is the repository's root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no repository root at %s: %v", root, err)
	}
	return root
}

// runPassing runs a drill that must pass with its report at a file, checks
// that it leaves nothing behind (no run directory in TMPDIR, no process of
// it running, nothing listening on its members' URLs), and returns the
// decoded report.
func runPassing(t *testing.T, dir string, args ...string) map[string]any {
	t.Helper()
	tmp := t.TempDir()
	reportPath := filepath.Join(t.TempDir(), "report.json")
	r := runCLIIn(t, dir, env(tmp), append(args, "--report", reportPath)...)
	if r.code != 0 {
		t.Fatalf("drill did not pass\n%v", r)
	}
	if r.stderr != "" {
		t.Errorf("stderr is not empty:\n%s", r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "PASS ") {
		t.Errorf("last line is not PASS: %q", last)
	}
	assertNoProcessIn(t, tmp)
	assertEmptyDir(t, tmp)
	m := decodeReport(t, reportPath)
	if !boolean(t, m, "passed") {
		t.Errorf("report passed is false; failures %v", m["failures"])
	}
	if f := list(t, m, "failures"); len(f) != 0 {
		t.Errorf("report failures = %v, want []", f)
	}
	if lost := num(t, m, "keys.lost"); lost != 0 {
		t.Errorf("report keys.lost = %v, want 0", lost)
	}
	urls := list(t, m, "urls")
	// A client and a peer URL for each of 3 members of the old cluster and
	// of the new one.
	if len(urls) < 12 {
		t.Errorf("report urls = %v, want the 12 URLs of 2 clusters of 3", urls)
	}
	assertNothingListens(t, urls)
	return m
}

// assertNothingListens fails if a member URL still accepts connections.
func assertNothingListens(t *testing.T, urls []any) {
	t.Helper()
	for _, v := range urls {
		s, _ := v.(string)
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			t.Errorf("report url %v is not a URL: %v", v, err)
			continue
		}
		if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after etcd-drill exited", s)
		}
	}
}

// assertNoProcessIn fails if a process whose command line names dir (a
// member's data dir in the run directory) is still running. It needs
// /proc; without it, assertNothingListens stands alone.
func assertNoProcessIn(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // gone meanwhile
		}
		if cmdline := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmdline, dir+string(filepath.Separator)) {
			t.Errorf("process %s still running after etcd-drill exited: %s", e.Name(), cmdline)
		}
	}
}

func TestProcessBackend(t *testing.T) {
	m := runPassing(t, "", "run", scenario, "--backend", "process", "--keys", "500")
	for path, want := range map[string]string{"backend": "process", "etcd_version": "3.7.3"} {
		if got := str(t, m, path); got != want {
			t.Errorf("report %s = %q, want %q", path, got, want)
		}
	}
	if !boolean(t, m, "fault.quorum_lost") {
		t.Errorf("report fault.quorum_lost is false")
	}
}

// TestWrongPeerURLs: a peer URL without a scheme makes every other member
// panic, and the one restarted panics again.
func TestWrongPeerURLs(t *testing.T) {
	m := runPassing(t, "", "run", wrongPeerScenario, "--backend", "process", "--keys", "500")
	assertWrongPeerPanics(t, m)
}

const wrongPeerScenario = "wrong-peer-urls/snapshot-restore"

// assertWrongPeerPanics checks the report m of a wrong-peer-urls drill: the
// members the fault hit panicked with failed NewURLs, one of them twice.
func assertWrongPeerPanics(t *testing.T, m map[string]any) {
	t.Helper()
	const sc = wrongPeerScenario
	if got := str(t, m, "scenario"); got != sc {
		t.Errorf("report scenario = %q, want %q", got, sc)
	}
	if !boolean(t, m, "fault.quorum_lost") {
		t.Errorf("report fault.quorum_lost is false")
	}
	// The fault's members are the 2 of 3 that were not updated; each
	// panicked, and one of them again when it was restarted.
	hit := map[string]bool{}
	for _, v := range list(t, m, "fault.members") {
		name, _ := v.(string)
		hit[name] = true
	}
	if len(hit) != 2 {
		t.Errorf("report fault.members = %v, want the 2 members not updated", m["fault"])
	}
	panics := list(t, m, "panics")
	count := map[string]int{}
	for i, v := range panics {
		p, ok := v.(map[string]any)
		if !ok {
			t.Errorf("report panics[%d] is not an object", i)
			continue
		}
		member, msg := str(t, p, "member"), str(t, p, "message")
		count[member]++
		if !hit[member] {
			t.Errorf("report panics[%d]: member %s panicked, not one the fault hit (%v)", i, member, m["fault"])
		}
		if !strings.Contains(msg, "failed NewURLs") {
			t.Errorf("report panics[%d] message %q, want failed NewURLs", i, msg)
		}
	}
	twice := 0
	for name := range hit {
		switch count[name] {
		case 1:
		case 2:
			twice++
		default:
			t.Errorf("member %s panicked %d times, want once, or twice if restarted", name, count[name])
		}
	}
	if len(panics) < 2 || twice != 1 {
		t.Errorf("report panics = %v: want each member the fault hit, one of them twice (restarted)", panics)
	}
}

// TestRunbookRecoveryGuide recovers with the recovery guide's runbook, which
// starts etcd in the background: nothing of it may outlive the drill.
func TestRunbookRecoveryGuide(t *testing.T) {
	m := runPassing(t, repoRoot(t), "run", scenario, "--recovery", "runbook",
		"--runbook", "recovery/runbooks/recovery-guide.sh", "--keys", "500")
	if rl, ok := m["runbook_logs"]; ok {
		t.Errorf("a passing runbook drill names runbook logs %v, removed with its run directory", rl)
	}
}

// TestUnreadableBackup: a backup that cannot be read at all is the
// procedure's failure, not bad input: exit 1 with the reason, at the
// snapshot step, and the run directory kept.
func TestUnreadableBackup(t *testing.T) {
	tmp := t.TempDir()
	r := runCLIIn(t, repoRoot(t), env(tmp), "run", scenario, "--recovery", "runbook",
		"--runbook", "scenarios/testdata/runbooks/unreadable-backup.sh", "--keys", "200")
	if r.code != 1 || !strings.Contains(r.stdout, "step snapshot: the runbook's snapshot: status of snapshot") {
		t.Fatalf("exit status %d, want 1 with the snapshot step's reason\n%v", r.code, r)
	}
	assertNoProcessIn(t, tmp)
	entries, err := os.ReadDir(tmp)
	if err != nil || len(entries) != 1 {
		t.Fatalf("TMPDIR holds %v (%v), want the kept run directory", entries, err)
	}
	if err := os.RemoveAll(filepath.Join(tmp, entries[0].Name())); err != nil {
		t.Fatal(err)
	}
}

// TestRunbookFails: a runbook that gives up fails the drill (exit 1), and
// its run directory is kept with the runbook's output, named on stdout.
func TestRunbookFails(t *testing.T) {
	tmp := t.TempDir()
	r := runCLIIn(t, repoRoot(t), env(tmp), "run", scenario, "--recovery", "runbook",
		"--runbook", "scenarios/testdata/runbooks/fails.sh", "--keys", "200")
	if r.code != 1 {
		t.Errorf("exit status %d, want 1\n%v", r.code, r)
	}
	assertNoProcessIn(t, tmp)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !entries[0].IsDir() || !strings.HasPrefix(entries[0].Name(), "etcd-drill-") {
		t.Fatalf("TMPDIR holds %v, want the one kept etcd-drill-* run directory\n%v", entries, r)
	}
	kept := filepath.Join(tmp, entries[0].Name())
	t.Cleanup(func() {
		if err := os.RemoveAll(kept); err != nil {
			t.Error(err)
		}
		assertEmptyDir(t, tmp)
	})
	var logs []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "runbook:") {
			f := strings.Fields(line)
			logs = append(logs, f[len(f)-1])
		}
	}
	if len(logs) == 0 {
		t.Errorf("stdout names no runbook output (a line runbook: PATH)\n%v", r)
	}
	for _, l := range logs {
		if filepath.Dir(l) != kept {
			t.Errorf("stdout names runbook output %s, want a file in the kept %s", l, kept)
		}
		if _, err := os.Stat(l); err != nil {
			t.Errorf("runbook output named on stdout: %v", err)
		}
	}
	restoreLog := filepath.Join(kept, "runbook-restore.log")
	if !slices.Contains(logs, restoreLog) {
		t.Errorf("stdout names runbook output %v, want %s among them", logs, restoreLog)
	}
	if b, err := os.ReadFile(restoreLog); err != nil || !strings.Contains(string(b), "giving up") {
		t.Errorf("%s does not hold the runbook's output (giving up): %q, %v", restoreLog, b, err)
	}
}

// dockerClient is a client of the Docker engine, closed with t.
func dockerClient(t *testing.T) client.APIClient {
	t.Helper()
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Client()
}

// labelled returns the containers (running or not) and networks that carry
// label (key=value), by ID, with their labels.
func labelled(t *testing.T, cli client.APIClient, label string) map[string]map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := make(client.Filters).Add("label", label)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, c := range cs.Items {
		out[c.ID] = c.Labels
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns.Items {
		out[n.ID] = n.Labels
	}
	return out
}

// harnessGone says whether the harness that labelled something no longer
// runs, as cleanup judges it: what it left is cleanup's to remove.
func harnessGone(labels map[string]string) bool {
	pid, err := strconv.Atoi(labels[container.LabelPID])
	return err != nil || pid <= 0 || syscall.Kill(pid, 0) == syscall.ESRCH
}

// deadPid is the process id of a process that has ended.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func randomName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// TestCleanup: `etcd-drill cleanup` removes the containers and networks
// labelled etcd-drill that a killed run left, says what it removed, and
// leaves alone what a running harness uses.
func TestCleanup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	checkNothing := func(t *testing.T, r result) {
		t.Helper()
		if r.code != 0 || !strings.Contains(r.stdout, "nothing to clean up") {
			t.Fatalf("cleanup where no Docker engine answers: want exit 0 and \"nothing to clean up\"\n%v", r)
		}
	}
	if err := container.Available(ctx); err != nil {
		checkNothing(t, runCLI(t, t.TempDir(), "cleanup"))
		t.Skipf("no Docker engine answers (%v): only checked that cleanup says there is nothing to clean up", err)
	}
	t.Run("no engine answers", func(t *testing.T) {
		r := runWithoutDocker(t, "cleanup")
		checkNothing(t, r)
		t.Logf("without Docker: %s", strings.TrimSpace(r.stdout))
	})
	cli := dockerClient(t)
	label := container.LabelDrill + "=true"
	// What a killed run left, others' included, is cleanup's to remove:
	// this test could not count its own.
	abandonedOthers := func(mine ...string) {
		t.Helper()
		var others []string
		for id, l := range labelled(t, cli, label) {
			if !slices.Contains(mine, id) && harnessGone(l) {
				others = append(others, id)
			}
		}
		if len(others) > 0 {
			t.Skipf("%d containers or networks labelled %s that a killed run left are there (`etcd-drill cleanup` removes them): this test could not count its own", len(others), label)
		}
	}
	abandonedOthers()
	b, err := bins.Find("")
	if err != nil {
		t.Fatalf("the container is made from the etcd image, built from bin/ (`make bins`): %v", err)
	}
	version, err := b.Version()
	if err != nil {
		t.Fatal(err)
	}
	image, err := container.EnsureImage(ctx, b, version)
	if err != nil {
		t.Fatal(err)
	}
	// What a killed run leaves: a running member's container and the
	// drill's network, labelled with a harness that is gone.
	killed := map[string]string{container.LabelDrill: "true", container.LabelPID: strconv.Itoa(deadPid(t))}
	cr, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   randomName("etcd-drill-cleanup-test-"),
		Config: &dcontainer.Config{Image: image, Labels: killed},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), cr.ID, client.ContainerRemoveOptions{Force: true})
	})
	if _, err := cli.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	nr, err := cli.NetworkCreate(ctx, randomName("etcd-drill-cleanup-test-"), client.NetworkCreateOptions{Driver: "bridge", Labels: killed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.NetworkRemove(context.Background(), nr.ID, client.NetworkRemoveOptions{}) })
	// What a running harness (this test) uses.
	inUse := map[string]string{container.LabelDrill: "true", container.LabelPID: strconv.Itoa(os.Getpid())}
	live, err := cli.NetworkCreate(ctx, randomName("etcd-drill-cleanup-test-"), client.NetworkCreateOptions{Driver: "bridge", Labels: inUse})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.NetworkRemove(context.Background(), live.ID, client.NetworkRemoveOptions{}) })

	abandonedOthers(cr.ID, nr.ID)
	r := runCLI(t, t.TempDir(), "cleanup")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want exit 0 and nothing on stderr\n%v", r)
	}
	if !strings.Contains(r.stdout, "removed 1 containers, 1 networks") {
		t.Errorf("stdout does not say it removed 1 container and 1 network\n%v", r)
	}
	if !strings.Contains(r.stdout, "in use by etcd-drill runs still going") {
		t.Errorf("stdout does not say it left what running drills use\n%v", r)
	}
	left := labelled(t, cli, label)
	for _, id := range []string{cr.ID, nr.ID} {
		if _, ok := left[id]; ok {
			t.Errorf("after cleanup, %s (of a killed run) is still there", id[:12])
		}
	}
	if _, ok := left[live.ID]; !ok {
		t.Errorf("cleanup removed the network of a running harness")
	}
	for id, l := range left {
		if harnessGone(l) {
			t.Errorf("after cleanup, %s labelled %s of a harness that is gone is still there: %v", id[:12], label, l)
		}
	}
}

// TestContainerDrill runs drills on the container backend: they pass and
// leave no container or network of their run behind.
func TestContainerDrill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := container.Available(ctx); err != nil {
		t.Skipf("container drills skipped: no Docker engine answers: %v", err)
	}
	cli := dockerClient(t)
	noLeftovers := func(t *testing.T, m map[string]any) {
		t.Helper()
		run := str(t, m, "run_id")
		if run == "" {
			t.Fatal("report run_id is empty: cannot tell the drill's containers")
		}
		if left := labelled(t, cli, container.LabelRun+"="+run); len(left) > 0 {
			t.Errorf("run %s left containers or networks %v", run, slices.Collect(maps.Keys(left)))
		}
	}
	t.Run(scenario, func(t *testing.T) {
		m := runPassing(t, "", "run", scenario, "--backend", "container", "--keys", "500")
		if got := str(t, m, "backend"); got != "container" {
			t.Errorf("report backend = %q, want container", got)
		}
		if !boolean(t, m, "fault.quorum_lost") {
			t.Errorf("report fault.quorum_lost is false")
		}
		noLeftovers(t, m)
	})
	t.Run(wrongPeerScenario, func(t *testing.T) {
		m := runPassing(t, "", "run", wrongPeerScenario, "--backend", "container", "--keys", "500")
		if got := str(t, m, "backend"); got != "container" {
			t.Errorf("report backend = %q, want container", got)
		}
		assertWrongPeerPanics(t, m)
		noLeftovers(t, m)
	})
}

// runWithoutDocker runs etcd-drill with args where no Docker engine
// answers: in a mount namespace with a tmpfs over /run (where the socket
// is), HOME an empty directory (no testcontainers properties, no Docker
// contexts) and DOCKER_HOST a socket that does not exist. It skips t where
// no mount namespace can be made (unshare -m needs root).
func runWithoutDocker(t *testing.T, args ...string) result {
	t.Helper()
	if err := exec.Command("unshare", "-m", "true").Run(); err != nil {
		t.Skipf("cannot hide the Docker engine: no mount namespace (unshare -m: %v)", err)
	}
	home := t.TempDir()
	var environ []string
	for _, kv := range env(t.TempDir()) {
		k, _, _ := strings.Cut(kv, "=")
		if k != "HOME" && k != "XDG_RUNTIME_DIR" && !strings.HasPrefix(k, "DOCKER_") && !strings.HasPrefix(k, "TESTCONTAINERS_") {
			environ = append(environ, kv)
		}
	}
	environ = append(environ, "HOME="+home, "DOCKER_HOST=unix:///run/etcd-drill-no-docker.sock")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const hide = `mount -t tmpfs tmpfs /run && { [ -L /var/run ] || mount -t tmpfs tmpfs /var/run; } && exec "$@"`
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"-m", "sh", "-c", hide, "sh", binary}, args...)...)
	cmd.Env = environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("etcd-drill %s without Docker: %v", strings.Join(args, " "), err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// TestBatch: --batch N writes in transactions of N puts only, and the drill
// verifies them.
func TestBatch(t *testing.T) {
	// Phased: counts exact, no traffic around the fault.
	m := runPassing(t, t.TempDir(), "run", scenario, "--keys", "1000", "--batch", "20", "--traffic", "phased")
	wl, _ := m["workload"].(map[string]any)
	if w, _ := wl["writes"].(float64); w != 1010 {
		t.Fatalf("workload %v: want 1,010 writes", wl)
	}
	// 1,000 puts in transactions of 20 take about 50 revisions.
	snap, _ := m["snapshot"].(map[string]any)
	if r, _ := snap["revision"].(float64); r < 50 || r > 100 {
		t.Fatalf("snapshot %v: want about 50 revisions for 1,000 puts in batches of 20", snap)
	}
	keys, _ := m["keys"].(map[string]any)
	if p, _ := keys["partial_txns"].(float64); p != 0 {
		t.Fatalf("keys %v", keys)
	}
}
