package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersion: etcdctl's style: etcd-drill's version, the etcd linked in,
// the binaries found, Go's version; an argument is bad input.
func TestVersion(t *testing.T) {
	tmp := t.TempDir()
	r := runCLI(t, tmp, "--version")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want exit 0 and nothing on stderr\n%v", r)
	}
	for _, w := range []string{"etcd-drill version: ", "etcd Version: 3.7.3", "API version: 3.7", "etcd 3.7 binaries: 3.7.3 in ", "Go version: go1."} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("--version lacks %q:\n%s", w, r.stdout)
		}
	}
	if r := runCLI(t, tmp, "version", "extra"); r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, `"extra"`) {
		t.Errorf("version extra: want one line on stderr and exit 2\n%v", r)
	}
}

// TestHelpCommand: help COMMAND prints the command's flags; help of no
// command is bad input.
func TestHelpCommand(t *testing.T) {
	tmp := t.TempDir()
	r := runCLI(t, tmp, "help", "run")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: etcd-drill run SCENARIO") || !strings.Contains(r.stdout, "-html") || !strings.Contains(r.stdout, "-junit") {
		t.Errorf("help run: want run's usage with --html and --junit\n%v", r)
	}
	if r := runCLI(t, tmp, "help", "report"); r.code != 0 || !strings.Contains(r.stdout, "usage: etcd-drill report RUN_DIR") {
		t.Errorf("help report\n%v", r)
	}
	if r := runCLI(t, tmp, "help", "nope"); r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "help nope") {
		t.Errorf("help nope: want one line on stderr and exit 2\n%v", r)
	}
}

// TestReportBadInput: one line on stderr, exit 2, nothing written.
func TestReportBadInput(t *testing.T) {
	tmp := t.TempDir()
	notReport := filepath.Join(tmp, "x.json")
	if err := os.WriteFile(notReport, []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no argument", []string{"report"}, "report needs one run directory"},
		{"missing", []string{"report", filepath.Join(tmp, "none")}, "no such file"},
		{"not a report", []string{"report", notReport}, "not a drill's report"},
		{"a dir without a report", []string{"report", t.TempDir()}, "report.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tmp, tc.args...)
			if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit 2, one line on stderr with %q, nothing on stdout\n%v", tc.want, r)
			}
		})
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) != 1 {
		t.Errorf("bad input left %d entries in %s", len(entries), tmp)
	}
}

// TestFailedDrillPagesAndJUnit: a drill whose runbook deletes a key fails;
// its JUnit file names the failed assertion with the finding; its run dir
// is kept with the report and the timeline; its page and etcd-drill report
// show the verdict and the lost key.
func TestFailedDrillPagesAndJUnit(t *testing.T) {
	tmp := t.TempDir()
	runbook, err := filepath.Abs("../../scenarios/testdata/runbooks/delete-a-key.sh")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	junit, page := filepath.Join(tmp, "drill.xml"), filepath.Join(tmp, "drill.html")
	r := runCLI(t, tmp, "run", scenario, "--keys", "300", "--recovery", "runbook", "--runbook", runbook,
		"--workdir", work, "--junit", junit, "--html", page)
	if r.code != 1 {
		t.Fatalf("want exit 1: the runbook deletes a key\n%v", r)
	}
	var doc struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testsuite>testcase"`
	}
	b, err := os.ReadFile(junit)
	if err == nil {
		err = xml.Unmarshal(b, &doc)
	}
	if err != nil {
		t.Fatalf("JUnit: %v", err)
	}
	failed := map[string]string{}
	for _, c := range doc.Cases {
		if c.Failure != nil {
			failed[c.Name] = c.Failure.Message
		}
	}
	if msg, ok := failed["no acknowledged write lost"]; !ok || !strings.Contains(msg, "acknowledged keys lost") {
		t.Errorf("JUnit failures %v: want \"no acknowledged write lost\" failing with the lost keys", failed)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"FAIL", `id="findings"`, "finding-row", "<svg"} {
		if !strings.Contains(string(html), w) {
			t.Errorf("the page lacks %q", w)
		}
	}
	runs, _ := filepath.Glob(filepath.Join(work, "etcd-drill-*"))
	if len(runs) != 1 {
		t.Fatalf("kept run dirs %v, want the failed drill's", runs)
	}
	if _, err := os.Stat(filepath.Join(runs[0], "timeline.svg")); err != nil {
		t.Errorf("the kept run has no timeline: %v", err)
	}
	again := runCLI(t, tmp, "report", runs[0])
	if again.code != 1 || !strings.Contains(again.stdout, "FAIL "+scenario) || !strings.Contains(again.stdout, "lost") {
		t.Errorf("report of the kept run: want its FAIL summary and exit 1\n%v", again)
	}
	for _, f := range []string{"report.html", "timeline.svg"} {
		if fi, err := os.Stat(filepath.Join(runs[0], f)); err != nil || fi.Size() == 0 {
			t.Errorf("report did not re-render %s: %v", f, err)
		}
	}
}
