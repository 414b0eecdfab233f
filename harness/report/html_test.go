package report

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// page renders r's HTML page, failing the test if it cannot.
func page(t *testing.T, r *Report) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// section is the page's section with the id, up to its end.
func section(t *testing.T, html, id string) string {
	t.Helper()
	start := strings.Index(html, `<section id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no section %s in the page", id)
	}
	end := strings.Index(html[start:], "</section>")
	if end < 0 {
		t.Fatalf("section %s does not end", id)
	}
	return html[start : start+end]
}

func TestHTMLVerdict(t *testing.T) {
	passed := sampleReport()
	passed.Failures, passed.Passed, passed.Upgrade = nil, true, nil
	refused := sampleReport()
	refused.Failures, refused.Passed, refused.Upgrade.RefusedAsDeclared = nil, true, true
	notRefused := sampleReport() // refused, but failed: a failure all the same
	notRefused.Upgrade.RefusedAsDeclared = true
	for _, tc := range []struct {
		name  string
		r     *Report
		word  string
		class string
	}{
		{"pass", passed, "PASS", `class="verdict pass"`},
		{"fail", sampleReport(), "FAIL", `class="verdict fail"`},
		{"refused as declared", refused, "REFUSED AS DECLARED", `class="verdict pass refused"`},
		{"refused but failed", notRefused, "FAIL", `class="verdict fail"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := section(t, page(t, tc.r), "verdict")
			if !strings.Contains(v, `<span class="word">`+tc.word+`</span>`) || !strings.Contains(v, tc.class) {
				t.Fatalf("verdict %q, want %s with %s", v, tc.word, tc.class)
			}
			if !strings.Contains(v, tc.r.Scenario) || !strings.Contains(v, "6.00 s") {
				t.Fatalf("verdict %q lacks the scenario or its seconds", v)
			}
			for _, other := range []string{"PASS", "FAIL", "REFUSED AS DECLARED"} {
				if other != tc.word && strings.Contains(v, ">"+other+"<") {
					t.Fatalf("verdict %q also says %s", v, other)
				}
			}
		})
	}
}

func TestHTMLFindingRows(t *testing.T) {
	r := sampleReport()
	f := section(t, page(t, r), "findings")
	rows := strings.Split(f, `<tr class="finding-row">`)[1:]
	if len(rows) != len(r.Findings) {
		t.Fatalf("%d finding rows, want %d:\n%s", len(rows), len(r.Findings), f)
	}
	// want and got, escaped, in their row.
	for i, want := range [][]string{
		{"/drill/w0/k0", ">lost<", "&#34;v&lt;1&gt;&#34;@699", ">absent<"},
		{"/drill/w1/k9", ">resurrected<", ">absent<", "&#34;old &amp; gone&#34;@12"},
	} {
		for _, w := range want {
			if !strings.Contains(rows[i], w) {
				t.Errorf("finding row %d lacks %s: %s", i, w, rows[i])
			}
		}
	}

	r.Findings = nil
	if f := section(t, page(t, r), "findings"); strings.Contains(f, "finding-row") {
		t.Fatalf("finding rows without findings: %s", f)
	}
}

func TestHTMLStepRows(t *testing.T) {
	r := sampleReport()
	s := section(t, page(t, r), "steps")
	if n := strings.Count(s, `<tr class="step-row`); n != len(r.Steps) {
		t.Fatalf("%d step rows, want %d", n, len(r.Steps))
	}
	if n := strings.Count(s, `<tr class="step-row failed">`); n != 1 {
		t.Fatalf("%d failed step rows, want 1", n)
	}
	for _, want := range []string{"<code>confirm-fault</code>", ">1.600<", ">0.800<", ">3 members<"} {
		if !strings.Contains(s, want) {
			t.Errorf("the steps lack %s", want)
		}
	}
}

func TestHTMLEscapesHostileText(t *testing.T) {
	r := sampleReport()
	r.Notes = []string{hostile}
	r.Hazards = []Hazard{{Name: "h<i>", Detail: hostile}}
	html := page(t, r)
	if strings.Contains(html, "<script") || strings.Contains(html, "<i>") {
		t.Fatal("hostile markup came through")
	}
	if !strings.Contains(section(t, html, "steps"), "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Fatal("the failed step's error is not shown, escaped")
	}
	if !strings.Contains(section(t, html, "notes"), "&lt;script&gt;") {
		t.Fatal("the note is not shown, escaped")
	}
}

func TestHTMLPanicsAndIncidentsShowTheirExcerpts(t *testing.T) {
	r := sampleReport()
	p := section(t, page(t, r), "panics")
	if !strings.Contains(p, "<pre class=\"excerpt\">line one &lt;before&gt;\npanic: runtime error: index out of range</pre>") {
		t.Fatalf("the panic's excerpt is not in a pre:\n%s", p)
	}
	for _, want := range []string{">m2<", "mvcc/kvstore.go:42", `href="file:///tmp/run/m2.log"`} {
		if !strings.Contains(p, want) {
			t.Errorf("the panic lacks %s", want)
		}
	}
	if i := section(t, page(t, r), "incidents"); !strings.Contains(i, "incident evidence line</pre>") || !strings.Contains(i, "etcd-drill run x --seed 7") {
		t.Fatalf("the incident lacks its excerpt or replay:\n%s", i)
	}

	r.Panics = nil
	if p := section(t, page(t, r), "panics"); strings.Contains(p, "<pre") {
		t.Fatalf("an excerpt without a panic: %s", p)
	}
}

func TestHTMLUpgradeOnlyForUpgrades(t *testing.T) {
	r := sampleReport()
	u := section(t, page(t, r), "upgrade")
	for _, want := range []string{"3.5.21 → 3.6.4", `class="checkpoint-row"`, "m1 on 3.6.4", "member-did-not-start", `href="file:///tmp/run/m2.etcd"`, "etcd-drill run upgrade/hops"} {
		if !strings.Contains(u, want) {
			t.Errorf("the upgrade lacks %s", want)
		}
	}
	r.Upgrade = nil
	if html := page(t, r); strings.Contains(html, `id="upgrade"`) {
		t.Fatal("an upgrade section for a drill that was none")
	}
}

func TestHTMLInlinesTheTimeline(t *testing.T) {
	html := page(t, sampleReport())
	tl := section(t, html, "timeline")
	if !strings.Contains(tl, "<svg ") || !strings.Contains(tl, `data-step="recover"`) || !strings.Contains(tl, `data-span="quorum-lost"`) {
		t.Fatal("the timeline section does not inline the picture")
	}
	if strings.Contains(tl, "&lt;svg") {
		t.Fatal("the picture was escaped as text")
	}
}

// external matches a reference the page would load or lead to elsewhere.
var external = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:|//)|url\(|@import`)

func TestHTMLLoadsNothingFromOutside(t *testing.T) {
	r := sampleReport()
	r.URLs = []string{"http://127.0.0.1:2379"}
	r.Linearizability = &Linearizability{Verdict: "Illegal", Visualization: "https://evil.example/x.html"}
	r.Snapshot.Path = "//evil.example/db"
	r.Panics[0].Log = "http://evil.example/log"
	html := page(t, r)
	if m := external.FindString(html); m != "" {
		t.Fatalf("the page refers outside: %q", m)
	}
	if strings.Contains(strings.ToLower(html), "<script") {
		t.Fatal("the page has a script")
	}
	// The check itself sees an external reference.
	if external.FindString(`<a href="https://x">`) == "" || external.FindString(`<img src=//x>`) == "" {
		t.Fatal("the check of external references sees none")
	}
}

func TestHTMLLinksTheHistoryView(t *testing.T) {
	r := sampleReport()
	r.Linearizability = &Linearizability{Operations: 10, Verdict: "Illegal", Visualization: "/tmp/run dir/history.html"}
	s := section(t, page(t, r), "summary")
	if !strings.Contains(s, `<a href="file:///tmp/run%20dir/history.html">/tmp/run dir/history.html</a>`) {
		t.Fatalf("no link to the history view:\n%s", s)
	}
	r.Linearizability.Visualization = "runs/history.html"
	if s := section(t, page(t, r), "summary"); !strings.Contains(s, `<a href="runs/history.html">`) {
		t.Fatalf("no relative link to the history view:\n%s", s)
	}
	r.Linearizability.Visualization = ""
	if s := section(t, page(t, r), "summary"); strings.Contains(s, "history.html") {
		t.Fatalf("a link to a history view there is none of")
	}
}

func TestHTMLSummaryMirrorsTheKeyCheck(t *testing.T) {
	r := sampleReport()
	s := section(t, page(t, r), "summary")
	for _, want := range []string{"<th>lost</th><td class=\"bad\">1</td>", "<th>expected</th><td>800</td>", "m1 3.6.4, r1 3.6.4", "<th>RTO</th><td>1.890 s</td>"} {
		if !strings.Contains(s, want) {
			t.Errorf("the summary lacks %s", want)
		}
	}
	r.Verified = false
	if s := section(t, page(t, r), "summary"); strings.Contains(s, "<th>expected</th>") || !strings.Contains(s, "not verified") {
		t.Fatal("an unverified drill shows keyspace figures")
	}
}

func TestHTMLRunDirOnlyWhenKept(t *testing.T) {
	r := sampleReport()
	r.RunDir = "/tmp/etcd-drill-1"
	if strings.Contains(page(t, r), `id="rundir"`) {
		t.Fatal("a run directory shown that was not kept")
	}
	r.Kept = true
	if d := section(t, page(t, r), "rundir"); !strings.Contains(d, `href="file:///tmp/etcd-drill-1"`) {
		t.Fatalf("the kept run directory is not linked: %s", d)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteHTMLReportsAWriteError(t *testing.T) {
	err := sampleReport().WriteHTML(failingWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err %v, want the writer's", err)
	}
}
