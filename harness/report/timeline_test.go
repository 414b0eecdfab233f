package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostile is text a report may carry that must stay text in SVG and HTML.
const hostile = `boom <script>alert("x")</script> & 'quoted' ]]> <!-- -->`

// drillStart is the start of the sample drill.
var drillStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// inDrill is a time the given seconds into the sample drill.
func inDrill(seconds float64) time.Time {
	return drillStart.Add(time.Duration(seconds * float64(time.Second)))
}

// sampleReport is a failed continuous-traffic drill with one of everything:
// steps (one failed with hostile text), a fault that lost quorum and was
// confirmed, traffic, a write rate, findings, a panic, an incident and an
// upgrade.
func sampleReport() *Report {
	r := New("quorum-loss/snapshot-restore", "embedded", 3, 7)
	r.Started = drillStart
	r.Seconds = 6
	r.RunID = "abcd1234"
	r.EtcdVersion = "3.6.4"
	r.MemberVersions = map[string]string{"m1": "3.6.4", "r1": "3.6.4"}
	r.Steps = []Step{
		{Name: "start-cluster", Start: 0, Seconds: 0.5, Detail: "3 members"},
		{Name: "workload", Start: 0.5, Seconds: 1},
		{Name: "fault", Start: 1.5, Seconds: 0.1},
		{Name: "confirm-fault", Start: 1.6, Seconds: 0.8},
		{Name: "recover", Start: 2.4, Seconds: 1},
		{Name: "first-write", Start: 3.4, Seconds: 0.1},
		{Name: "verify", Start: 3.5, Seconds: 0.5, Error: hostile},
	}
	r.Fault = &Fault{Name: "kill-majority", Members: []string{"m1", "m2"}, At: inDrill(1.55), ConfirmedAt: inDrill(2.3), QuorumLost: true}
	r.Traffic = &Traffic{Mode: "continuous", LastOldAck: inDrill(1.56), FirstRecoveredAck: inDrill(3.45)}
	r.RTOSeconds = 1.89
	r.RecoverySeconds = 1.1
	rate := &Rate{BucketSeconds: 0.1, Old: make([]int, 60), Recovered: make([]int, 60), Failed: make([]int, 60), Indeterminate: make([]int, 60)}
	for i := range 16 {
		rate.Old[i] = 50 + i
	}
	for i := 35; i < 60; i++ {
		rate.Recovered[i] = 40
	}
	rate.Failed[20], rate.Indeterminate[16] = 3, 12
	r.Rate = rate
	r.Verified = true
	r.Keys = Keys{Acknowledged: 900, Expected: 800, Restored: 799, Lost: 1}
	r.Findings = []Finding{
		{Key: "/drill/w0/k0", Kind: "lost", Want: `"v<1>"@699`, Got: "absent"},
		{Key: "/drill/w1/k9", Kind: "resurrected", Want: "absent", Got: `"old & gone"@12`},
	}
	r.Panics = []Panic{{Member: "m2", Message: "runtime error: index out of range", Caller: "mvcc/kvstore.go:42",
		Log: "/tmp/run/m2.log", Excerpt: []string{"line one <before>", "panic: runtime error: index out of range"}}}
	r.Incidents = []Incident{{Name: "etcd-publish-spin", Member: "m3", EtcdVersion: "3.6.4", Message: "publish error",
		Detail: "spun", Log: "/tmp/run/m3.log", Excerpt: []string{"incident evidence line"}, Replay: "etcd-drill run x --seed 7"}}
	r.Upgrade = &Upgrade{Path: []string{"3.5.21", "3.6.4"},
		Checkpoints: []Checkpoint{{Stage: "m1 on 3.6.4", Revision: 120, Expected: 100, Held: 100, Passed: true}},
		Findings: []UpgradeFinding{{Name: "member-did-not-start", Member: "m2", Version: "3.6.4", From: "3.5.21",
			Message: "refused", DataDir: "/tmp/run/m2.etcd", Replay: "etcd-drill run upgrade/hops"}}}
	r.Fail("1 acknowledged keys lost")
	r.Passed = false
	return r
}

// svgNode is an element of a parsed SVG.
type svgNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []svgNode  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// num is an attribute as a number.
func (n svgNode) num(t *testing.T, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr(name), 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", n.XMLName.Local, name, n.attr(name), err)
	}
	return v
}

// title is the text of the element's title child.
func (n svgNode) title() string {
	for _, c := range n.Children {
		if c.XMLName.Local == "title" {
			return c.Text
		}
	}
	return ""
}

// parseSVG parses the picture as XML, failing the test if it is not.
func parseSVG(t *testing.T, b []byte) svgNode {
	t.Helper()
	var root svgNode
	if err := xml.Unmarshal(b, &root); err != nil {
		t.Fatalf("the timeline is not XML: %v\n%s", err, b)
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != svgNS {
		t.Fatalf("root %v, want svg in %s", root.XMLName, svgNS)
	}
	return root
}

// find is every element, depth first, whose class and given data attribute
// (attr, empty for any) match.
func (n svgNode) find(class, attr string) []svgNode {
	var out []svgNode
	var walk func(svgNode)
	walk = func(e svgNode) {
		if e.attr("class") == class && (attr == "" || e.attr(attr) != "") {
			out = append(out, e)
		}
		for _, c := range e.Children {
			walk(c)
		}
	}
	walk(n)
	return out
}

// byData is the elements of class whose attribute attr is value.
func (n svgNode) byData(class, attr, value string) []svgNode {
	return slices.DeleteFunc(n.find(class, attr), func(e svgNode) bool { return e.attr(attr) != value })
}

// texts is every text drawn.
func (n svgNode) texts() []string {
	var out []string
	var walk func(svgNode)
	walk = func(e svgNode) {
		if e.XMLName.Local == "text" {
			var b strings.Builder
			b.WriteString(e.Text)
			for _, c := range e.Children {
				b.WriteString(c.Text)
			}
			out = append(out, b.String())
		}
		for _, c := range e.Children {
			walk(c)
		}
	}
	walk(n)
	return out
}

func TestTimelineHasTitleAndOneBandPerStep(t *testing.T) {
	r := sampleReport()
	root := parseSVG(t, r.TimelineSVG())
	if len(root.Children) == 0 || root.Children[0].XMLName.Local != "title" || !strings.Contains(root.Children[0].Text, r.Scenario) {
		t.Fatalf("the root's first child is not a title naming %s: %+v", r.Scenario, root.Children[:1])
	}
	if w := root.num(t, "width"); w < 900 || w > 1100 {
		t.Fatalf("width %v, want about 1000", w)
	}
	var names []string
	for _, s := range root.find("step", "data-step") {
		names = append(names, s.attr("data-step"))
		if s.XMLName.Local != "rect" {
			t.Errorf("step %s is a %s, want a rect", s.attr("data-step"), s.XMLName.Local)
		}
	}
	var want []string
	for _, s := range r.Steps {
		want = append(want, s.Name)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("step bands %v, want %v", names, want)
	}
}

func TestTimelineBandsFollowTheTimeAxis(t *testing.T) {
	root := parseSVG(t, sampleReport().TimelineSVG())
	workload := root.byData("step", "data-step", "workload")[0]
	rec := root.byData("step", "data-step", "recover")[0]
	// workload: 0.5 s to 1.5 s; recover: 2.4 s to 3.4 s: as wide, later.
	if w1, w2 := workload.num(t, "width"), rec.num(t, "width"); w1 < 50 || abs(w1-w2) > 1 {
		t.Fatalf("bands of one second are %v and %v wide", w1, w2)
	}
	if workload.num(t, "x")+workload.num(t, "width") >= rec.num(t, "x") {
		t.Fatal("the recover band does not come after the workload's")
	}
}

func TestTimelineMarksFaultConfirmationAndFirstWrite(t *testing.T) {
	root := parseSVG(t, sampleReport().TimelineSVG())
	x := map[string]float64{}
	for _, e := range []string{"fault", "confirmed", "first-write"} {
		got := root.byData("event", "data-event", e)
		if len(got) != 1 {
			t.Fatalf("%d %s events, want 1", len(got), e)
		}
		if got[0].num(t, "x1") != got[0].num(t, "x2") {
			t.Errorf("the %s marker is not vertical", e)
		}
		x[e] = got[0].num(t, "x1")
	}
	if !(x["fault"] < x["confirmed"] && x["confirmed"] < x["first-write"]) {
		t.Fatalf("events out of order: %v", x)
	}
	// The fault at 1.55 s is within the fault step (1.5 s to 1.6 s).
	f := root.byData("step", "data-step", "fault")[0]
	if x["fault"] < f.num(t, "x") || x["fault"] > f.num(t, "x")+f.num(t, "width") {
		t.Fatalf("fault marker at %v, outside the fault step", x["fault"])
	}
}

func TestTimelineWithoutConfirmationOrFaultDrawsNoMarkerForThem(t *testing.T) {
	r := sampleReport()
	r.Fault.ConfirmedAt = time.Time{}
	root := parseSVG(t, r.TimelineSVG())
	if n := len(root.byData("event", "data-event", "confirmed")); n != 0 {
		t.Fatalf("%d confirmed markers for a fault never confirmed", n)
	}
	if n := len(root.byData("event", "data-event", "fault")); n != 1 {
		t.Fatalf("%d fault markers, want 1", n)
	}

	r.Fault = nil
	root = parseSVG(t, r.TimelineSVG())
	if n := len(root.find("event", "data-event")) - len(root.byData("event", "data-event", "first-write")); n != 0 {
		t.Fatalf("%d fault events without a fault", n)
	}
	if n := len(root.byData("span", "data-span", "quorum-lost")); n != 0 {
		t.Fatalf("%d quorum-lost spans without a fault", n)
	}
}

func TestTimelineFirstWriteWithoutTrafficIsTheEndOfTheFirstWriteStep(t *testing.T) {
	r := sampleReport()
	r.Traffic = nil
	root := parseSVG(t, r.TimelineSVG())
	step := root.byData("step", "data-step", "first-write")[0]
	ev := root.byData("event", "data-event", "first-write")
	if len(ev) != 1 {
		t.Fatalf("%d first-write events, want 1", len(ev))
	}
	if end := step.num(t, "x") + step.num(t, "width"); abs(ev[0].num(t, "x1")-end) > 0.2 {
		t.Fatalf("first write at x=%v, want the first-write step's end %v", ev[0].num(t, "x1"), end)
	}
	// And the RTO runs from the fault to it.
	rto := root.byData("span", "data-span", "rto")
	fault := root.byData("event", "data-event", "fault")[0]
	if len(rto) != 1 || abs(rto[0].num(t, "x")-fault.num(t, "x1")) > 0.2 ||
		abs(rto[0].num(t, "x")+rto[0].num(t, "width")-ev[0].num(t, "x1")) > 0.2 {
		t.Fatalf("rto %+v, want it from the fault to the first write", rto)
	}

	r.Steps = slices.DeleteFunc(r.Steps, func(s Step) bool { return s.Name == "first-write" })
	root = parseSVG(t, r.TimelineSVG())
	if n := len(root.byData("event", "data-event", "first-write")); n != 0 {
		t.Fatalf("%d first-write events with neither traffic nor a first-write step", n)
	}
}

func TestTimelineSpansWhenTheyApply(t *testing.T) {
	r := sampleReport()
	root := parseSVG(t, r.TimelineSVG())
	ql := root.byData("span", "data-span", "quorum-lost")
	if len(ql) != 1 {
		t.Fatalf("%d quorum-lost spans, want 1", len(ql))
	}
	fault := root.byData("event", "data-event", "fault")[0]
	rec := root.byData("step", "data-step", "recover")[0]
	if abs(ql[0].num(t, "x")-fault.num(t, "x1")) > 0.2 ||
		abs(ql[0].num(t, "x")+ql[0].num(t, "width")-(rec.num(t, "x")+rec.num(t, "width"))) > 0.2 {
		t.Fatal("the quorum-lost span does not run from the fault to the end of recover")
	}
	rto := root.byData("span", "data-span", "rto")
	if len(rto) != 1 {
		t.Fatalf("%d rto spans, want 1", len(rto))
	}
	// With traffic: from the last old acknowledgement to the first recovered one.
	first := root.byData("event", "data-event", "first-write")[0]
	if end := rto[0].num(t, "x") + rto[0].num(t, "width"); abs(end-first.num(t, "x1")) > 0.2 || rto[0].num(t, "x") <= fault.num(t, "x1") {
		t.Fatalf("rto from %v to %v; fault at %v, first write at %v", rto[0].num(t, "x"), end, fault.num(t, "x1"), first.num(t, "x1"))
	}
	if !slices.Contains(root.texts(), "RTO 1.89 s") {
		t.Fatalf("no RTO label in %q", root.texts())
	}

	r.Fault.QuorumLost = false
	r.RTOSeconds = 0
	root = parseSVG(t, r.TimelineSVG())
	if n := len(root.find("span", "data-span")); n != 0 {
		t.Fatalf("%d spans with quorum kept and no RTO", n)
	}
	if slices.ContainsFunc(root.texts(), func(s string) bool { return strings.HasPrefix(s, "RTO ") }) {
		t.Fatalf("an RTO label without an RTO: %q", root.texts())
	}
}

func TestTimelineQuorumLostWithoutRecoveryRunsToTheEnd(t *testing.T) {
	r := sampleReport()
	r.Steps = r.Steps[:4] // stopped before recover
	root := parseSVG(t, r.TimelineSVG())
	ql := root.byData("span", "data-span", "quorum-lost")
	if len(ql) != 1 || ql[0].num(t, "x")+ql[0].num(t, "width") < plotRight-0.5 {
		t.Fatalf("quorum-lost spans %+v, want one to the end of the axis", ql)
	}
}

func TestTimelineDrawsEveryRateSeries(t *testing.T) {
	r := sampleReport()
	root := parseSVG(t, r.TimelineSVG())
	for _, s := range []string{"old", "recovered", "failed", "indeterminate"} {
		if n := len(root.byData("rate", "data-series", s)); n != 1 {
			t.Errorf("%d %s series, want 1", n, s)
		}
	}
	if !slices.Contains(root.texts(), "writes per 100 ms") {
		t.Errorf("no y axis label in %q", root.texts())
	}
	if !slices.Contains(root.texts(), "65") { // Old's peak: 50+15
		t.Errorf("no tick at the peak 65 in %q", root.texts())
	}

	r.Rate.Failed = make([]int, 60)
	root = parseSVG(t, r.TimelineSVG())
	if n := len(root.byData("rate", "data-series", "failed")); n != 0 {
		t.Errorf("%d failed series without a failed write", n)
	}

	r.Rate = nil
	root = parseSVG(t, r.TimelineSVG())
	if n := len(root.find("rate", "data-series")); n != 0 {
		t.Fatalf("%d rate series without a rate", n)
	}
	if !slices.Contains(root.texts(), "no write rate recorded") {
		t.Fatalf("no word of the missing rate in %q", root.texts())
	}
}

func TestDrawRateSumsManyBuckets(t *testing.T) {
	n := 5000
	rate := &Rate{BucketSeconds: 0.01, Old: make([]int, n), Recovered: make([]int, n), Failed: make([]int, n), Indeterminate: make([]int, n-3)}
	for i := range n {
		rate.Old[i] = 1
	}
	rate.Recovered[n-1] = 7
	d := drawRate(rate)
	if d.len() > maxDrawn || d.len() != 1000 || abs(d.bucket-0.05) > 1e-12 {
		t.Fatalf("%d buckets of %v s, want 1000 of 0.05 s", d.len(), d.bucket)
	}
	if total(d.old) != n || d.peak() != 7 || d.old[0] != 5 || d.recovered[d.len()-1] != 7 {
		t.Fatalf("sums lost writes: old %d, peak %d, first %d, last recovered %d", total(d.old), d.peak(), d.old[0], d.recovered[d.len()-1])
	}
	root := parseSVG(t, (&Report{Started: drillStart, Seconds: 50, Rate: rate}).TimelineSVG())
	if !slices.Contains(root.texts(), "writes per 50 ms") {
		t.Fatalf("the y axis does not name the drawn bucket: %q", root.texts())
	}
	if path := root.byData("rate", "data-series", "old")[0].attr("d"); strings.Count(path, "H") != 1000 {
		t.Fatalf("%d steps drawn, want 1000", strings.Count(path, "H"))
	}
	if drawRate(&Rate{BucketSeconds: 0.1}) != nil || drawRate(&Rate{Old: []int{1}}) != nil || drawRate(nil) != nil {
		t.Fatal("an empty rate, or one without a bucket size, was drawn")
	}
}

func TestTimelineEscapesHostileText(t *testing.T) {
	r := sampleReport()
	r.Scenario = `evil"<svg onload=alert(1)>`
	r.Steps = append(r.Steps, Step{Name: `step"<b>&`, Start: 4, Seconds: 0.5, Error: "\x00control\x1b"})
	b := r.TimelineSVG()
	if bytes.Contains(b, []byte("<script")) || bytes.Contains(b, []byte("<b>")) || bytes.Contains(b, []byte("<svg onload")) {
		t.Fatalf("hostile markup came through:\n%s", b)
	}
	root := parseSVG(t, b)
	verify := root.byData("step", "data-step", "verify")
	if len(verify) != 1 || !strings.Contains(verify[0].title(), "error: "+hostile) {
		t.Fatalf("the failed step's title does not hold its error: %+v", verify)
	}
	if verify[0].attr("fill") != colourFail {
		t.Fatalf("the failed step is %s, want %s", verify[0].attr("fill"), colourFail)
	}
	if ok := root.byData("step", "data-step", "workload")[0]; ok.attr("fill") == colourFail {
		t.Fatal("a step that did not fail is red")
	}
	if len(root.byData("step", "data-step", `step"<b>&`)) != 1 {
		t.Fatal("the step named with markup lost its name")
	}
	if !strings.Contains(root.Children[0].Text, r.Scenario) {
		t.Fatalf("title %q lost the scenario", root.Children[0].Text)
	}
}

func TestTimelineOfAnEmptyReportIsAPicture(t *testing.T) {
	root := parseSVG(t, (&Report{}).TimelineSVG())
	if n := len(root.find("step", "")) + len(root.find("event", "")) + len(root.find("span", "")); n != 0 {
		t.Fatalf("%d marks on an empty drill", n)
	}
}

func TestNiceStepAndLabels(t *testing.T) {
	for _, tc := range []struct{ raw, want float64 }{{0.35, 0.5}, {0.1, 0.1}, {1.2, 2}, {3, 5}, {7, 10}, {42, 50}, {0, 1}} {
		if got := niceStep(tc.raw); abs(got-tc.want) > 1e-9 {
			t.Errorf("niceStep(%v) = %v, want %v", tc.raw, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    float64
		want string
	}{{0.1, "100 ms"}, {0.05, "50 ms"}, {0.0125, "12.5 ms"}, {1.6, "1.6 s"}, {2, "2 s"}} {
		if got := bucketLabel(tc.s); got != tc.want {
			t.Errorf("bucketLabel(%v) = %q, want %q", tc.s, got, tc.want)
		}
	}
	if got := fmt.Sprint(tickLabel(1.5, 0.5), " ", tickLabel(20, 10), " ", tickLabel(0.25, 0.05)); got != "1.5 20 0.25" {
		t.Errorf("tick labels %q", got)
	}
}

func abs(v float64) float64 { return max(v, -v) }
