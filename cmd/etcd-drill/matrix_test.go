package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/scenarios"
)

// fakeCell is what a test double drill reports for one pair.
type fakeCell struct {
	passed   bool
	recover  string // the recover step's error: a refusal
	failures []string
}

func fakeMatrixRun(cells map[string]fakeCell) func(context.Context, scenarios.Scenario, scenarios.Options) (*report.Report, error) {
	return func(_ context.Context, sc scenarios.Scenario, o scenarios.Options) (*report.Report, error) {
		c := cells[o.EtcdVersion+"->"+o.RestoreVersion]
		rep := report.New(sc.Name, "process", o.Members, o.Seed)
		rep.Passed, rep.Failures = c.passed, c.failures
		rep.MemberVersions = map[string]string{"m1": o.EtcdVersion + ".0", "r1": o.RestoreVersion + ".0"}
		rep.Steps = []report.Step{{Name: "recover", Error: c.recover}}
		var err error
		if !c.passed {
			err = errors.New("drill failed")
		}
		return rep, err
	}
}

// TestMatrixSortsCells: a cell passes, fails on an assertion (its first
// failure shown), or is refused (the restore's error, etcd's words); a
// refusal declared incompatible does not fail the matrix, any other does.
// The table, the JSON and the JUnit report say the same.
func TestMatrixSortsCells(t *testing.T) {
	cells := map[string]fakeCell{
		"3.5->3.5": {passed: true},
		"3.5->3.6": {failures: []string{"2 acknowledged keys lost (expected as of snapshot revision 40)"}},
		"3.6->3.5": {passed: true},
		"3.6->3.6": {recover: `member r1 exited: its log says: version "3.7.0" is not supported`},
	}
	declared := []scenarios.Incompatibility{{From: "3.6", To: "3.6", Reason: "test double", Ref: "nowhere"}}
	for _, tc := range []struct {
		name     string
		declared []scenarios.Incompatibility
		code     int
		failures int
	}{
		{"the refusal declared", declared, 1, 1},
		{"nothing declared", []scenarios.Incompatibility{}, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			js, junit := filepath.Join(dir, "m.json"), filepath.Join(dir, "m.xml")
			var out bytes.Buffer
			code, err := runMatrix(t.Context(), []string{"--from", "3.5,3.6", "--to", "3.5,3.6", "--report", js, "--junit", junit}, &out, fakeMatrixRun(cells), tc.declared)
			if code != tc.code || err != nil {
				t.Fatalf("exit %d, %v; want %d\n%s", code, err, tc.code, out.String())
			}
			for _, want := range []string{"3.5        pass  fail", "lost (expected as of snapshot revision 40)", `refused: member r1 exited: its log says: version "3.7.0" is not supported`} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			var m struct{ Cells []matrixCell }
			data, err := os.ReadFile(js)
			if err == nil {
				err = json.Unmarshal(data, &m)
			}
			if err != nil || len(m.Cells) != 4 {
				t.Fatalf("JSON report: %v, %d cells", err, len(m.Cells))
			}
			got := map[string]string{}
			for _, c := range m.Cells {
				got[c.From+"->"+c.To] = c.Result
				if c.FromVersion != c.From+".0" || c.ToVersion != c.To+".0" {
					t.Errorf("cell %s->%s ran %s->%s", c.From, c.To, c.FromVersion, c.ToVersion)
				}
			}
			if got["3.5->3.5"] != "pass" || got["3.5->3.6"] != "fail" || got["3.6->3.6"] != "refused" {
				t.Errorf("cells %v", got)
			}
			var suite struct {
				Failures int `xml:"failures,attr"`
				Cases    []struct {
					Skipped *struct{} `xml:"skipped"`
				} `xml:"testsuite>testcase"`
			}
			data, err = os.ReadFile(junit)
			if err == nil {
				err = xml.Unmarshal(data, &suite)
			}
			if err != nil || suite.Failures != tc.failures || len(suite.Cases) != 4 {
				t.Fatalf("JUnit: %v, %d failures of %d cases, want %d failures of 4\n%s", err, suite.Failures, len(suite.Cases), tc.failures, data)
			}
		})
	}
	// Only the declared refusal fails: exit 0.
	cells["3.5->3.6"] = fakeCell{passed: true}
	var out bytes.Buffer
	if code, err := runMatrix(t.Context(), []string{"--from", "3.5,3.6", "--to", "3.5,3.6"}, &out, fakeMatrixRun(cells), declared); code != 0 || err != nil {
		t.Fatalf("exit %d, %v with only a declared refusal; want 0\n%s", code, err, out.String())
	}
	if !strings.Contains(out.String(), "refused (declared incompatible)") || !strings.Contains(out.String(), "declared incompatible: test double (nowhere)") {
		t.Fatalf("the declared cell is not shown as such:\n%s", out.String())
	}
}

func TestMatrixBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"malformed version", []string{"matrix", "--from", "3.x"}, []string{"--from 3.x", "X.Y or X.Y.Z"}},
		{"unknown scenario", []string{"matrix", "--scenario", "nope"}, []string{"--scenario", "nope"}},
		{"no snapshot to restore", []string{"matrix", "--scenario", "partition/majority-isolated"}, []string{"--restore-version", "does not restore a snapshot"}},
		{"version not built", []string{"matrix", "--from", "3.1", "--to", "3.7"}, []string{"etcd 3.1 binaries not found", "make bins-all VERSIONS=3.1"}},
		{"an argument", []string{"matrix", "extra"}, []string{"no arguments", `"extra"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			checkBadInput(t, runCLI(t, tmp, tc.args...), tmp, tc.want...)
		})
	}
}

// TestMatrixOfRealVersions runs a 2x2 matrix of etcd 3.6 and 3.7: three
// cells restore their ledger intact, and 3.7's snapshot on 3.6 is refused
// by etcd 3.6 itself, as declared (exit 0).
func TestMatrixOfRealVersions(t *testing.T) {
	if _, err := bins.FindVersion("", "3.6"); errors.Is(err, bins.ErrNotFound) && os.Getenv("CI") == "" {
		t.Skipf("%v", err)
	}
	tmp := t.TempDir()
	r := runCLI(t, tmp, "matrix", "--from", "3.6,3.7", "--to", "3.6,3.7", "--keys", "300", "--workdir", tmp)
	if r.code != 0 {
		t.Fatalf("exit %d\n%v", r.code, r)
	}
	for _, want := range []string{"3.6        pass", "3.7        refused (declared incompatible)  pass", `version "3.7.0" is not supported`, "PASS 4 cells"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertEmptyDir(t, tmp)
}
