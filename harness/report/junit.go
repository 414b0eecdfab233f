package report

import (
	"encoding/xml"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// JUnit XML as CI systems read it (the Ant/Surefire shape Jenkins, GitLab
// and GitHub's reporters take): testsuites, each testsuite with its counts,
// each testcase with a failure (message and text) or a skip, and what it
// printed.

// JUnitSuite is one testsuite.
type JUnitSuite struct {
	XMLName   xml.Name    `xml:"testsuite"`
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      Seconds     `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []JUnitCase `xml:"testcase"`
}

// JUnitCase is one testcase: one assertion of a drill, or one drill.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      Seconds       `xml:"time,attr"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
	Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitFailure is why a testcase failed: a line, then the whole of it.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitSkipped is why a testcase did not count.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// Seconds is a time in JUnit: a decimal ("0.042"; schemas refuse Go's
// "4.2e-02"), to the millisecond.
type Seconds float64

// MarshalXMLAttr writes s as a decimal.
func (s Seconds) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	return xml.Attr{Name: name, Value: strconv.FormatFloat(float64(s), 'f', 3, 64)}, nil
}

// UnmarshalXMLAttr reads a decimal.
func (s *Seconds) UnmarshalXMLAttr(a xml.Attr) error {
	v, err := strconv.ParseFloat(a.Value, 64)
	*s = Seconds(v)
	return err
}

// Add appends a testcase and counts it.
func (s *JUnitSuite) Add(c JUnitCase) {
	s.Cases = append(s.Cases, c)
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Skipped != nil:
		s.Skipped++
	}
}

// Fail makes a failure of text: its first line is the message.
func Fail(kind, text string) *JUnitFailure {
	msg, _, _ := strings.Cut(text, "\n")
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return &JUnitFailure{Message: msg, Type: kind, Text: text}
}

// WriteJUnit writes the suites to path as one testsuites document.
func WriteJUnit(path string, suites ...JUnitSuite) error {
	doc := struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     Seconds      `xml:"time,attr"`
		Suites   []JUnitSuite `xml:"testsuite"`
	}{Suites: suites}
	for _, s := range suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Time += s.Time
	}
	data, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JUnit: %w", err)
	}
	if err := os.WriteFile(path, append([]byte(xml.Header), append(data, '\n')...), 0o644); err != nil {
		return fmt.Errorf("write JUnit %s: %w", path, err)
	}
	return nil
}

// check is one assertion of a drill: its name, whether it applies to this
// drill, whether it failed, and the failures it explains (those that
// contain one of claims; a step's failure is its step's).
type check struct {
	name    string
	applies bool
	failed  bool
	why     string
	claims  []string
}

// JUnit is the drill as a testsuite: one testcase per step (each must
// complete), one per assertion that applies to it (no acknowledged write
// lost, none resurrected, revisions intact, transactions whole, HashKV,
// cluster identity, membership, leases, linearizability, panics, each
// checkpoint of an upgrade), one per upgrade finding and etcd incident, and
// one per failure no assertion explains: a failed drill always names what
// failed.
func (r *Report) JUnit() JUnitSuite {
	r.mu.Lock()
	defer r.mu.Unlock()
	class := "etcd-drill." + r.Scenario + "." + r.Backend
	s := JUnitSuite{Name: fmt.Sprintf("etcd-drill %s (%s, %d members, seed %d)", r.Scenario, r.Backend, r.Members, r.Seed),
		Time: Seconds(r.Seconds), Timestamp: r.Started.UTC().Format(time.RFC3339)}
	claimed := make([]bool, len(r.Failures))
	claim := func(match func(string) bool) []string {
		var out []string
		for i, f := range r.Failures {
			if !claimed[i] && match(f) {
				claimed[i] = true
				out = append(out, f)
			}
		}
		return out
	}
	for _, st := range r.Steps {
		c := JUnitCase{Name: "step " + st.Name + " completes", Classname: class, Time: Seconds(st.Seconds), SystemOut: st.Detail}
		prefix := "step " + st.Name + ": "
		got := claim(func(f string) bool { return strings.HasPrefix(f, prefix) })
		if st.Error != "" || len(got) > 0 {
			text := st.Error
			if len(got) > 0 {
				text = strings.Join(got, "\n")
			}
			c.Failure = Fail("step", text)
		}
		s.Add(c)
	}
	k := r.Keys
	checks := []check{
		{name: "members agree (HashKV)", applies: r.Verified, failed: r.Verified && !r.Cluster.HashKVConsistent, why: "members disagree on HashKV", claims: []string{"HashKV"}},
		{name: "no acknowledged write lost", applies: r.Verified, failed: k.Lost > 0, why: fmt.Sprintf("%d acknowledged keys lost", k.Lost), claims: []string{"lost", "empty-backup"}},
		{name: "no key resurrected", applies: r.Verified, failed: k.Resurrected > 0, why: fmt.Sprintf("%d keys resurrected", k.Resurrected), claims: []string{"resurrected"}},
		{name: "revisions intact", applies: r.Verified, failed: k.RevisionMismatch > 0, why: fmt.Sprintf("%d keys at other revisions", k.RevisionMismatch), claims: []string{"revision"}},
		{name: "transactions whole", applies: r.Verified, failed: k.PartialTxns > 0, why: fmt.Sprintf("%d transactions held in part", k.PartialTxns), claims: []string{"partial-txn"}},
		{name: "cluster identity", applies: r.Verified, claims: []string{"cluster ID"}},
		{name: "membership whole", applies: r.Verified, claims: []string{"member list", "learner", "voters"}},
		{name: "leases as the ledger says", applies: r.Leases != nil, failed: r.Leases != nil && r.Leases.Findings > 0, why: "lease findings", claims: []string{"lease"}},
		{name: "history linearizable", applies: r.Linearizability != nil, failed: r.Linearizability != nil && r.Linearizability.Verdict == "Illegal", why: "porcupine: Illegal", claims: []string{"linearizable"}},
		{name: "members panic as the scenario expects", applies: len(r.Panics) > 0, claims: []string{"did not panic"}},
		{name: "compaction kept", applies: r.Compaction != nil, claims: []string{"compact"}},
	}
	for _, ch := range checks {
		got := claim(func(f string) bool {
			for _, c := range ch.claims {
				if strings.Contains(f, c) {
					return true
				}
			}
			return false
		})
		if !ch.applies && len(got) == 0 {
			continue
		}
		c := JUnitCase{Name: ch.name, Classname: class}
		switch {
		case len(got) > 0:
			c.Failure = Fail(ch.name, strings.Join(got, "\n"))
		case ch.failed:
			c.Failure = Fail(ch.name, ch.why)
		}
		s.Add(c)
	}
	if u := r.Upgrade; u != nil {
		for _, cp := range u.Checkpoints {
			c := JUnitCase{Name: "every acknowledged write held at " + cp.Stage, Classname: class, Time: Seconds(cp.Seconds),
				SystemOut: fmt.Sprintf("revision %d: expected %d, held %d", cp.Revision, cp.Expected, cp.Held)}
			if !cp.Passed {
				c.Failure = Fail("checkpoint", fmt.Sprintf("at %s (revision %d): lost %d, resurrected %d, revisions rewritten %d", cp.Stage, cp.Revision, cp.Lost, cp.Resurrected, cp.RevisionMismatch))
			}
			s.Add(c)
		}
		for _, f := range u.Findings {
			c := JUnitCase{Name: fmt.Sprintf("member %s comes up on etcd %s", f.Member, f.Version), Classname: class,
				SystemOut: fmt.Sprintf("log %s\ndata dir %s\nreplay: %s", f.Log, f.DataDir, f.Replay)}
			what := fmt.Sprintf("%s: %s on %s (from %s): %s %s", f.Name, f.Member, f.Version, f.From, f.Message, f.Caller)
			if u.RefusedAsDeclared {
				c.Skipped = &JUnitSkipped{Message: "refused as declared: " + what}
			} else {
				c.Failure = Fail(f.Name, what)
			}
			s.Add(c)
		}
	}
	for _, in := range r.Incidents {
		// etcd's own misbehaviour, with the workaround applied: evidence,
		// not a failure of the drill.
		s.Add(JUnitCase{Name: fmt.Sprintf("etcd incident %s on %s (etcd %s)", in.Name, in.Member, in.EtcdVersion), Classname: class,
			SystemOut: strings.Join(append([]string{in.Message, in.Detail, "workaround: " + in.Workaround, "replay: " + in.Replay}, in.Excerpt...), "\n")})
	}
	for i, f := range r.Failures {
		if !claimed[i] {
			name, _, _ := strings.Cut(f, ":")
			s.Add(JUnitCase{Name: "assertion: " + name, Classname: class, Failure: Fail("assertion", f)})
		}
	}
	return s
}
