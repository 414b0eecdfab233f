package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/scenarios"
)

// drillLine is a soak's line for one drill.
var drillLine = regexp.MustCompile(`^\[(\d+)/(\d+)\] (\S+) backend=(\S+) members=(\d+) keys=(\d+) seed=(\d+)  (PASS|FAIL|HANG)\S*  [\d.]+s  leaks: (.*)$`)

// drillLines are the drill lines of a soak's stdout.
func drillLines(out string) [][]string {
	var got [][]string
	for _, l := range strings.Split(out, "\n") {
		if m := drillLine.FindStringSubmatch(l); m != nil {
			got = append(got, m)
		}
	}
	return got
}

// TestSoakBadInput: a count below 1, an unknown backend, a glob that is not
// one or matches nothing, an argument: exit 2, one line on stderr, nothing
// on stdout, nothing created (checkBadInput looks at TMPDIR).
func TestSoakBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir", "flakes.log")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"count 0", []string{"soak", "--count", "0"}, []string{"--count 0"}},
		{"count -3", []string{"soak", "--count", "-3"}, []string{"--count -3"}},
		{"unknown backend", []string{"soak", "--count", "1", "--backend", "embedded,nope"}, []string{`unknown backend "nope"`}},
		{"glob matches nothing", []string{"soak", "--count", "1", "--scenarios", "no-such-*"}, []string{`"no-such-*"`, "matches no scenario"}},
		{"glob malformed", []string{"soak", "--count", "1", "--scenarios", "quorum-loss/["}, []string{`"quorum-loss/["`, "syntax error"}},
		{"backend runs none of the glob", []string{"soak", "--count", "1", "--backend", "embedded", "--scenarios", "wrong-peer-urls/*"}, []string{"--backend embedded", "wrong-peer-urls/*"}},
		{"max-keys below 100", []string{"soak", "--max-keys", "99"}, []string{"--max-keys 99"}},
		{"flake log dir missing", []string{"soak", "--count", "1", "--flake-log", missing}, []string{"--flake-log", "does not exist"}},
		{"an argument", []string{"soak", "quorum-loss/snapshot-restore"}, []string{"no arguments"}},
		{"unknown flag", []string{"soak", "--no-such-flag"}, []string{"-no-such-flag"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			checkBadInput(t, runCLI(t, tmp, tc.args...), tmp, tc.want...)
		})
	}
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Errorf("%s exists after the runs: %v", filepath.Dir(missing), err)
	}
}

// TestSoakEmbedded runs a small real soak through the binary: four drills
// on the embedded backend pass, each with its line and no leak, the table
// follows with a total of 4, and the soak's directory is gone.
func TestSoakEmbedded(t *testing.T) {
	tmp := t.TempDir()
	r := runCLI(t, tmp, "soak", "--count", "4", "--seed", "7", "--backend", "embedded", "--max-keys", "300")
	if r.code != 0 {
		t.Fatalf("exit status %d, want 0\n%v", r.code, r)
	}
	lines := drillLines(r.stdout)
	if len(lines) != 4 {
		t.Fatalf("%d drill lines, want 4\n%v", len(lines), r)
	}
	for i, m := range lines {
		if m[1] != string(rune('1'+i)) || m[2] != "4" || m[4] != "embedded" || m[8] != "PASS" || m[9] != "none" {
			t.Errorf("drill line %d: %q", i+1, m[0])
		}
	}
	if !regexp.MustCompile(`(?m)^scenario\s+backend\s+runs\s+pass\s+fail\s+hang\s+leaks\s+mean s\s+max s`).MatchString(r.stdout) {
		t.Errorf("no table header\n%v", r)
	}
	if !regexp.MustCompile(`(?m)^total\s+4\s+4\s+0\s+0\s+0\s`).MatchString(r.stdout) {
		t.Errorf("no total row of 4 runs, 4 passed\n%v", r)
	}
	if r.stderr != "" {
		t.Errorf("stderr: %s", r.stderr)
	}
	assertEmptyDir(t, tmp)

	// The same seed picks the same drills.
	again := runCLI(t, t.TempDir(), "soak", "--count", "1", "--seed", "7", "--backend", "embedded", "--max-keys", "300")
	if l := drillLines(again.stdout); len(l) != 1 || strings.Join(l[0][3:8], " ") != strings.Join(lines[0][3:8], " ") {
		t.Errorf("seed 7 chose %v, then %v", lines[0][3:8], l)
	}
}

// TestSoakBaselineCounts shows that the leak counter can fail: a file, a
// goroutine, a child process, a loopback listener and a directory made
// after the baseline are each reported, and none once they are gone.
func TestSoakBaselineCounts(t *testing.T) {
	dir := t.TempDir()
	b := newSoakBaseline(dir, 300*time.Millisecond)
	b.fdSlack = 0 // one descriptor is a leak here
	ctx := context.Background()
	if err := b.Take(ctx); err != nil {
		t.Fatal(err)
	}
	if leaks, _ := b.Diff(ctx, nil); len(leaks) != 0 {
		t.Fatalf("leaks right after the baseline: %v", leaks)
	}
	expect := func(what string, want ...string) {
		t.Helper()
		leaks, _ := b.Diff(ctx, nil)
		got := strings.Join(leaks, " | ")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: leaks %q lack %q", what, got, w)
			}
		}
		if len(want) == 0 && len(leaks) > 0 {
			t.Errorf("%s: leaks %q, want none", what, got)
		}
	}

	f, err := os.Open("soak_test.go")
	if err != nil {
		t.Fatal(err)
	}
	expect("an open file", "fds +1", "soak_test.go")
	f.Close()
	expect("the file closed")

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { <-stop; close(done) }()
	expect("a goroutine", "goroutines +1", "TestSoakBaselineCounts")
	close(stop)
	<-done
	expect("the goroutine ended")

	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	expect("a child process", "processes +1", "sleep")
	cmd.Process.Kill()
	cmd.Wait()
	expect("the child reaped")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	expect("a listener", "listeners +1", ln.Addr().String())
	ln.Close()
	expect("the listener closed")

	if err := os.Mkdir(filepath.Join(dir, "etcd-drill-leftover"), 0o755); err != nil {
		t.Fatal(err)
	}
	expect("a run dir", "run dirs +1", "etcd-drill-leftover")
	// A run dir a failed drill kept is a note, not a leak.
	kept := filepath.Join(dir, "etcd-drill-kept")
	if err := os.Mkdir(kept, 0o755); err != nil {
		t.Fatal(err)
	}
	leaks, notes := b.Diff(ctx, &report.Report{RunDir: kept, Kept: true})
	if len(leaks) != 0 || len(notes) != 1 || !strings.Contains(notes[0], kept) {
		t.Errorf("a kept run dir: leaks %q, notes %q; want no leak and a note naming it", leaks, notes)
	}
}

// TestSoakHang runs a soak in this process whose drills each pass the
// deadline of confirm-fault (a 3-member quorum loss): every drill is a HANG, the flake log holds
// the replay command, the deadline and the soak's seed, and the exit
// status is 1.
func TestSoakHang(t *testing.T) {
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	flakeLog := filepath.Join(tmp, "flakes.log")
	cfg := &soakConfig{
		count: 2, seed: 3, glob: "quorum-loss/snapshot-restore", backends: []string{"embedded"},
		flakeLog: flakeLog, workDir: work, maxKeys: 150, junit: filepath.Join(tmp, "soak.xml"),
		args: []string{"etcd-drill", "soak", "--count", "2", "--seed", "3"},
		tweak: func(o *scenarios.Options) {
			o.StepDeadlines = map[string]time.Duration{"confirm-fault": time.Millisecond}
			// One member is confirmed dead at once, within the 1 ms; with
			// three, the probe of the survivor takes three election timeouts.
			o.Members = 3
		},
	}
	var out bytes.Buffer
	code, err := soak(context.Background(), cfg, &out)
	if err != nil || code != 1 {
		t.Fatalf("soak: exit %d, %v; want 1\n%s", code, err, &out)
	}
	lines := drillLines(out.String())
	if len(lines) != 2 {
		t.Fatalf("%d drill lines, want 2\n%s", len(lines), &out)
	}
	for _, m := range lines {
		if m[8] != "HANG" || m[9] != "none" {
			t.Errorf("drill line %q: want HANG and no leak", m[0])
		}
	}
	if !regexp.MustCompile(`(?m)^total\s+2\s+0\s+0\s+2\s+0\s`).MatchString(out.String()) {
		t.Errorf("no total row of 2 runs, 2 hangs\n%s", &out)
	}
	b, err := os.ReadFile(flakeLog)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if n := strings.Count(log, "=== "); n != 2 {
		t.Errorf("%d blocks in the flake log, want 2:\n%s", n, log)
	}
	for _, w := range []string{
		"HANG", "soak seed 3", "replay:   etcd-drill run quorum-loss/snapshot-restore --backend embedded --members ",
		"deadline: step confirm-fault passed its deadline of 1ms", "leaked:   nothing", "confirm-fault",
	} {
		if !strings.Contains(log, w) {
			t.Errorf("flake log lacks %q:\n%s", w, log)
		}
	}
	// Each seed in the log replays: it is the one on the drill's line.
	for _, m := range lines {
		if !strings.Contains(log, "--seed "+m[7]) {
			t.Errorf("flake log lacks the replay of seed %s", m[7])
		}
	}
	// The JUnit file has each drill as a failed testcase with its replay.
	var junit struct {
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Out     string `xml:"system-out"`
			Failure *struct {
				Type string `xml:"type,attr"`
			} `xml:"failure"`
		} `xml:"testsuite>testcase"`
	}
	if b, err := os.ReadFile(cfg.junit); err != nil {
		t.Error(err)
	} else if err := xml.Unmarshal(b, &junit); err != nil {
		t.Errorf("JUnit: %v\n%s", err, b)
	} else if junit.Failures != 2 || len(junit.Cases) != 2 {
		t.Errorf("JUnit: %d failures of %d testcases, want 2 of 2\n%s", junit.Failures, len(junit.Cases), b)
	} else {
		for _, c := range junit.Cases {
			if c.Failure == nil || c.Failure.Type != "HANG" || !strings.Contains(c.Out, "replay: etcd-drill run quorum-loss/snapshot-restore") {
				t.Errorf("testcase %+v: want a HANG failure and the replay", c)
			}
		}
	}
	// The drills kept their run dirs (a deadline keeps the member logs):
	// said, and no leak.
	if !strings.Contains(out.String(), "kept its run dir") {
		t.Errorf("the kept run dirs are not mentioned\n%s", &out)
	}
}

// TestSoakWatchdog: a drill that does not return within its deadline plus
// the watchdog's slack is a hang of the harness; the soak stops there.
func TestSoakWatchdog(t *testing.T) {
	tmp := t.TempDir()
	release := make(chan struct{})
	defer close(release)
	cfg := &soakConfig{
		count: 3, seed: 1, glob: "*", backends: []string{"embedded"},
		flakeLog: filepath.Join(tmp, "flakes.log"), workDir: tmp, maxKeys: 100,
		tweak:         func(o *scenarios.Options) { o.Timeout = 50 * time.Millisecond },
		watchdogSlack: 50 * time.Millisecond,
		settle:        100 * time.Millisecond,
		run: func(context.Context, scenarios.Scenario, scenarios.Options) (*report.Report, error) {
			<-release
			return nil, nil
		},
	}
	var out bytes.Buffer
	code, _ := soak(context.Background(), cfg, &out)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, &out)
	}
	if l := drillLines(out.String()); len(l) != 1 || l[0][8] != "HANG" {
		t.Errorf("drill lines %v: want one HANG, then the soak stops\n%s", l, &out)
	}
	if !strings.Contains(out.String(), "harness bug") {
		t.Errorf("the stop is not explained\n%s", &out)
	}
	b, _ := os.ReadFile(cfg.flakeLog)
	if !strings.Contains(string(b), "watchdog: scenarios.Run did not return") {
		t.Errorf("flake log:\n%s", b)
	}
}
