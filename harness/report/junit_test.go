package report

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestJUnitNamesTheFailedAssertion: a failed drill's suite has a failing
// testcase named after each assertion that failed, with the finding as its
// message, and passing ones for the rest; a passing drill has none failing.
func TestJUnitNamesTheFailedAssertion(t *testing.T) {
	passing := func() *Report {
		r := New("quorum-loss/snapshot-restore", "embedded", 3, 1)
		r.Verified, r.Cluster.HashKVConsistent = true, true
		r.Steps = []Step{{Name: "fault", Seconds: 0.2}, {Name: "verify", Seconds: 1}}
		r.Leases = &Leases{Leases: 3}
		r.Linearizability = &Linearizability{Verdict: "Ok"}
		r.Finish()
		return r
	}
	for _, tc := range []struct {
		name   string
		doctor func(r *Report)
		failed map[string]string // testcase -> in its failure message
	}{
		{"passing", func(*Report) {}, nil},
		{"a key lost", func(r *Report) {
			r.Keys.Lost = 2
			r.Fail("2 acknowledged keys lost (expected as of snapshot revision 5)")
		}, map[string]string{"no acknowledged write lost": "2 acknowledged keys lost"}},
		{"revisions rewritten and HashKV", func(r *Report) {
			r.Keys.RevisionMismatch, r.Cluster.HashKVConsistent = 1, false
			r.Fail("members disagree on HashKV at revision 9: map[]")
			r.Fail("revision-rewritten: 1 keys hold their value at other revisions than acknowledged")
		}, map[string]string{"members agree (HashKV)": "disagree on HashKV", "revisions intact": "revision-rewritten"}},
		{"a step failed", func(r *Report) {
			r.Steps[0].Error = "the fault did not break quorum"
			r.Fail("step fault: the fault did not break quorum")
		}, map[string]string{"step fault completes": "did not break quorum"}},
		{"not linearizable", func(r *Report) {
			r.Linearizability.Verdict = "Illegal"
			r.Fail("not-linearizable: the history has no order")
		}, map[string]string{"history linearizable": "not-linearizable"}},
		{"a failure no assertion explains", func(r *Report) {
			r.Fail("something new: went wrong")
		}, map[string]string{"assertion: something new": "went wrong"}},
		{"an upgrade checkpoint and a member down", func(r *Report) {
			r.Upgrade = &Upgrade{Checkpoints: []Checkpoint{{Stage: "m1 on 3.7.3", Passed: true}, {Stage: "m2 on 3.7.3", Lost: 3}},
				Findings: []UpgradeFinding{{Name: "member-down", Member: "m3", Version: "3.7.3", Message: "boom"}}}
		}, map[string]string{"every acknowledged write held at m2 on 3.7.3": "lost 3", "member m3 comes up on etcd 3.7.3": "boom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := passing()
			tc.doctor(r)
			r.Finish()
			s := r.JUnit()
			failing := map[string]string{}
			names := map[string]bool{}
			for _, c := range s.Cases {
				names[c.Name] = true
				if c.Failure != nil {
					failing[c.Name] = c.Failure.Message
				}
			}
			if s.Failures != len(failing) || s.Tests != len(s.Cases) {
				t.Errorf("counts: tests %d failures %d, cases %d failing %d", s.Tests, s.Failures, len(s.Cases), len(failing))
			}
			for name, want := range tc.failed {
				if msg, ok := failing[name]; !ok || !strings.Contains(msg, want) {
					t.Errorf("testcase %q: failure %q (failing: %v); want it to fail with %q", name, msg, failing, want)
				}
			}
			if len(failing) != len(tc.failed) {
				t.Errorf("failing %v, want exactly %v", failing, tc.failed)
			}
			for _, n := range []string{"no acknowledged write lost", "no key resurrected", "revisions intact", "members agree (HashKV)", "leases as the ledger says", "history linearizable", "step verify completes"} {
				if !names[n] {
					t.Errorf("no testcase %q", n)
				}
			}
		})
	}
}

// TestWriteJUnit: the file is a testsuites document whose counts add up,
// each testcase with a name, a classname and a time, as CI systems read it.
func TestWriteJUnit(t *testing.T) {
	r := New("s", "process", 3, 1)
	r.Verified, r.Cluster.HashKVConsistent = true, true
	r.Keys.Lost = 1
	r.Fail("1 acknowledged keys lost <&>")
	r.Finish()
	p := filepath.Join(t.TempDir(), "j.xml")
	if err := WriteJUnit(p, r.JUnit()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name      string  `xml:"name,attr"`
				Classname string  `xml:"classname,attr"`
				Time      *string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(doc.Suites) != 1 || doc.Tests != doc.Suites[0].Tests || doc.Failures != 1 || doc.Suites[0].Failures != 1 {
		t.Fatalf("counts: %+v\n%s", doc, data)
	}
	for _, c := range doc.Suites[0].Cases {
		if c.Name == "" || c.Classname == "" || c.Time == nil {
			t.Errorf("testcase %+v lacks a name, classname or time", c)
		}
		if c.Failure != nil && (c.Failure.Message != "1 acknowledged keys lost <&>" || c.Failure.Type == "") {
			t.Errorf("failure %+v", c.Failure)
		}
	}
}

// TestJUnitValidatesAgainstTheSchema: the JUnit files of a passing drill, a
// failed one and a refused upgrade are valid against the schema CI
// systems read (testdata/junit.xsd, by xmllint). Without xmllint the test
// is skipped, saying so; under CI, which installs it (.ci/run), it fails.
func TestJUnitValidatesAgainstTheSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no xmllint on PATH: .ci/run installs Debian's libxml2-utils")
		}
		t.Skip("no xmllint on PATH (apt-get install libxml2-utils): the JUnit files are not checked against the schema")
	}
	pass := New("quorum-loss/snapshot-restore", "embedded", 3, 1)
	pass.Verified, pass.Cluster.HashKVConsistent = true, true
	pass.Steps = []Step{{Name: "fault", Seconds: 0.00000042}, {Name: "verify", Seconds: 1.5}}
	pass.Incidents = []Incident{{Name: "etcd-publish-spin", Member: "m2", Excerpt: []string{"a <line>"}}}
	pass.Finish()
	fail := New("quorum-loss/snapshot-restore", "process", 3, 2)
	fail.Verified, fail.Keys.Lost = true, 1
	fail.Fail("1 acknowledged keys lost & \"more\"")
	fail.Fail("something else")
	fail.Finish()
	refused := New("upgrade/rolling", "process", 3, 3)
	refused.Upgrade = &Upgrade{RefusedAsDeclared: true, Checkpoints: []Checkpoint{{Stage: "m1 on 3.7.3", Passed: true, Seconds: 1e-7}},
		Findings: []UpgradeFinding{{Name: "member-down", Member: "m2", Version: "3.7.3"}}}
	refused.Finish()
	dir := t.TempDir()
	p := filepath.Join(dir, "drills.xml")
	if err := WriteJUnit(p, pass.JUnit(), fail.JUnit(), refused.JUnit()); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit.xsd", p).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	// The schema is no rubber stamp: Go's float format for a time is not
	// a decimal, and a testcase without a name is refused.
	bad := filepath.Join(dir, "bad.xml")
	for _, doc := range []string{
		`<testsuites><testsuite name="s" tests="1"><testcase name="c" time="4.2e-07"/></testsuite></testsuites>`,
		`<testsuites><testsuite name="s" tests="1"><testcase classname="c"/></testsuite></testsuites>`,
	} {
		if err := os.WriteFile(bad, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit.xsd", bad).CombinedOutput(); err == nil {
			t.Errorf("xmllint took %s\n%s", doc, out)
		}
	}
}
