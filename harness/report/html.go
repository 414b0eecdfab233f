package report

import (
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained HTML page: the verdict,
// a summary, the failures, the steps, the timeline of TimelineSVG inlined,
// the findings, the upgrade if the drill was one, panics, hazards,
// incidents, notes and the kept run directory. The page loads nothing and
// runs no script; its links are to local files (file: URLs or paths
// relative to the page). Sections have stable ids: verdict, summary,
// failures, steps, timeline, findings, upgrade, panics, hazards, incidents,
// notes, rundir. Every text of the report is escaped.
func (r *Report) WriteHTML(w io.Writer) error {
	r.mu.Lock()
	v := r.htmlView()
	r.mu.Unlock()
	if err := pageTemplate.Execute(w, v); err != nil {
		return fmt.Errorf("write html report of %s: %w", v.Scenario, err)
	}
	return nil
}

// verdict is the drill's verdict as WriteSummary words it, and the page's
// class for it: pass, fail, or pass refused (the path etcd refused was
// declared unsupported).
func (r *Report) verdict() (word, class string) {
	switch {
	case r.Passed && r.Upgrade != nil && r.Upgrade.RefusedAsDeclared:
		return "REFUSED AS DECLARED", "pass refused"
	case r.Passed:
		return "PASS", "pass"
	}
	return "FAIL", "fail"
}

// pageView is what the page template shows; every string is the report's
// text, escaped by the template.
type pageView struct {
	Scenario, Description       string
	Verdict, VerdictClass, Gist string
	Meta                        string
	Replay                      string
	Cards                       []card
	Failures                    []string
	Steps                       []stepView
	Timeline                    template.HTML
	Findings                    []Finding
	Upgrade                     *upgradeView
	Panics                      []panicView
	Hazards                     []Hazard
	Incidents                   []incidentView
	Notes                       []string
	Deadline                    *deadlineView
	RunbookLogs                 []link
	RunDir                      *link
}

// card is a titled table of the summary.
type card struct {
	Title string
	Rows  []row
}

// row is one figure of a card: Bad marks what went wrong, Link a local file.
type row struct {
	Label, Value string
	Bad          bool
	Link         link
}

// link is a local file: its path and a URL to it (empty when there is none).
type link struct {
	Text string
	Href template.URL
}

type stepView struct {
	Name, Start, Seconds, Detail, Error string
}

type panicView struct {
	Member, Message, Caller string
	Log                     link
	Excerpt                 string
}

type incidentView struct {
	Incident
	Log     link
	Excerpt string
}

type upgradeView struct {
	Path, Unsupported string
	RefusedAsDeclared bool
	Checkpoints       []Checkpoint
	Findings          []upgradeFindingView
}

type upgradeFindingView struct {
	UpgradeFinding
	Log, DataDir link
}

type deadlineView struct {
	Deadline
	Logs []link
}

// htmlView gathers the page from the report; the caller holds r.mu.
func (r *Report) htmlView() *pageView {
	word, class := r.verdict()
	v := &pageView{
		Scenario: r.Scenario, Description: r.Description,
		Verdict: word, VerdictClass: class,
		Meta: fmt.Sprintf("backend %s · %d members · seed %d · etcd %s · run %s · started %s",
			r.Backend, r.Members, r.Seed, r.EtcdVersion, r.RunID, r.Started.UTC().Format("2006-01-02 15:04:05 MST")),
		Replay:   r.Replay,
		Cards:    r.cards(),
		Timeline: template.HTML(r.timelineSVG()), // drawn here, every text in it escaped
		// Copies: the page is written after r.mu is let go.
		Failures: slices.Clone(r.Failures),
		Findings: slices.Clone(r.Findings),
		Hazards:  slices.Clone(r.Hazards),
		Notes:    slices.Clone(r.Notes),
	}
	switch {
	case word == "FAIL":
		v.Gist = fmt.Sprintf("%d %s in %.2f s", len(r.Failures), plural(len(r.Failures), "failure", "failures"), r.Seconds)
	case class == "pass refused":
		v.Gist = fmt.Sprintf("in %.2f s: no acknowledged write lost", r.Seconds)
	default:
		v.Gist = fmt.Sprintf("in %.2f s", r.Seconds)
	}
	for _, s := range r.Steps {
		v.Steps = append(v.Steps, stepView{Name: s.Name, Start: secs(s.Start), Seconds: secs(s.Seconds), Detail: s.Detail, Error: s.Error})
	}
	for _, p := range r.Panics {
		v.Panics = append(v.Panics, panicView{Member: p.Member, Message: p.Message, Caller: p.Caller,
			Log: fileLink(p.Log), Excerpt: strings.Join(p.Excerpt, "\n")})
	}
	for _, i := range r.Incidents {
		v.Incidents = append(v.Incidents, incidentView{Incident: i, Log: fileLink(i.Log), Excerpt: strings.Join(i.Excerpt, "\n")})
	}
	if u := r.Upgrade; u != nil {
		uv := &upgradeView{Path: strings.Join(u.Path, " → "), Unsupported: u.Unsupported,
			RefusedAsDeclared: u.RefusedAsDeclared, Checkpoints: slices.Clone(u.Checkpoints)}
		for _, f := range u.Findings {
			uv.Findings = append(uv.Findings, upgradeFindingView{UpgradeFinding: f, Log: fileLink(f.Log), DataDir: fileLink(f.DataDir)})
		}
		v.Upgrade = uv
	}
	if d := r.Deadline; d != nil {
		dv := &deadlineView{Deadline: *d}
		for _, l := range d.Logs {
			dv.Logs = append(dv.Logs, fileLink(l))
		}
		v.Deadline = dv
	}
	for _, l := range r.RunbookLogs {
		v.RunbookLogs = append(v.RunbookLogs, fileLink(l))
	}
	if r.Kept && r.RunDir != "" {
		l := fileLink(r.RunDir)
		v.RunDir = &l
	}
	return v
}

// cards is the summary: the drill, its keys, the recovery, the clusters,
// the fault, the traffic, the workload, the leases and the history.
func (r *Report) cards() []card {
	drill := card{Title: "Drill", Rows: []row{
		{Label: "scenario", Value: r.Scenario},
		{Label: "backend", Value: r.Backend},
		{Label: "etcd version", Value: r.EtcdVersion},
	}}
	if r.RestoreVersion != "" {
		drill.Rows = append(drill.Rows, row{Label: "restored with", Value: r.RestoreVersion})
	}
	if len(r.MemberVersions) > 0 {
		var vs []string
		for _, m := range slices.Sorted(maps.Keys(r.MemberVersions)) {
			vs = append(vs, m+" "+r.MemberVersions[m])
		}
		drill.Rows = append(drill.Rows, row{Label: "member versions", Value: strings.Join(vs, ", ")})
	}
	drill.Rows = append(drill.Rows,
		row{Label: "members", Value: strconv.Itoa(r.Members)},
		row{Label: "seed", Value: strconv.FormatUint(r.Seed, 10)},
		row{Label: "run id", Value: r.RunID},
		row{Label: "took", Value: fmt.Sprintf("%.2f s", r.Seconds)})

	cards := []card{drill, r.keysCard(), r.recoveryCard(), r.clusterCard()}
	if f := r.Fault; f != nil {
		c := card{Title: "Fault", Rows: []row{
			{Label: "fault", Value: f.Name},
			{Label: "members", Value: strings.Join(f.Members, ", ")},
			{Label: "at", Value: r.since(f.At)},
			{Label: "quorum lost", Value: yesNo(f.QuorumLost)},
		}}
		if !f.ConfirmedAt.IsZero() {
			c.Rows = append(c.Rows, row{Label: "confirmed", Value: r.since(f.ConfirmedAt)})
		}
		if f.Detail != "" {
			c.Rows = append(c.Rows, row{Label: "detail", Value: f.Detail})
		}
		cards = append(cards, c)
	}
	if t := r.Traffic; t != nil {
		epoch := func(e Epoch) string {
			return fmt.Sprintf("%d acknowledged, %d failed, %d indeterminate", e.Acknowledged, e.Failed, e.Indeterminate)
		}
		cards = append(cards, card{Title: "Traffic", Rows: []row{
			{Label: "mode", Value: t.Mode},
			{Label: "old cluster", Value: epoch(t.Old)},
			{Label: "recovered cluster", Value: epoch(t.Recovered)},
			{Label: "last old ack", Value: r.since(t.LastOldAck)},
			{Label: "first recovered ack", Value: r.since(t.FirstRecoveredAck)},
			{Label: "longest writer gap", Value: fmt.Sprintf("%.3f s (writer %d)", t.LongestWriterGapSeconds, t.Writer)},
		}})
	}
	w := r.Workload
	cards = append(cards, card{Title: "Workload", Rows: []row{
		{Label: "writes", Value: fmt.Sprintf("%d (%d before the snapshot, %d after)", w.Writes, w.BeforeSnapshot, w.AfterSnapshot)},
		{Label: "reads", Value: strconv.Itoa(w.Reads)},
		{Label: "concurrency", Value: strconv.Itoa(w.Concurrency)},
		{Label: "value size", Value: fmt.Sprintf("%d bytes", w.ValueSize)},
		{Label: "acknowledged", Value: fmt.Sprintf("%.0f per second", w.AckedPerSecond)},
	}})
	var checks []row
	if l := r.Leases; l != nil {
		checks = append(checks,
			row{Label: "leases", Value: strconv.Itoa(l.Leases)},
			row{Label: "lease findings", Value: strconv.Itoa(l.Findings), Bad: l.Findings > 0},
			row{Label: "short lease expired", Value: fmt.Sprintf("%.3f s after the check began", l.ShortExpiredSeconds)})
	}
	if l := r.Linearizability; l != nil {
		checks = append(checks,
			row{Label: "linearizable", Value: l.Verdict, Bad: l.Verdict == "Illegal"},
			row{Label: "operations", Value: fmt.Sprintf("%d, checked in %.3f s", l.Operations, l.Seconds)})
		if l.Visualization != "" {
			checks = append(checks, row{Label: "history view", Link: fileLink(l.Visualization)})
		}
	}
	if len(checks) > 0 {
		cards = append(cards, card{Title: "Leases and history", Rows: checks})
	}
	return cards
}

// keysCard is the keyspace check, worded as WriteSummary words it when the
// check did not run.
func (r *Report) keysCard() card {
	k := r.Keys
	c := card{Title: "Keys", Rows: []row{{Label: "acknowledged", Value: strconv.Itoa(k.Acknowledged)}}}
	count := func(label string, n int, bad bool) row {
		return row{Label: label, Value: strconv.Itoa(n), Bad: bad && n > 0}
	}
	switch u := r.Upgrade; {
	case r.Verified:
		c.Rows = append(c.Rows,
			count("expected", k.Expected, false),
			count("restored", k.Restored, false),
			count("lost", k.Lost, true),
			count("resurrected", k.Resurrected, true),
			count("indeterminate", k.Indeterminate, false),
			count("revision mismatch", k.RevisionMismatch, true),
			count("duplicates", k.Duplicates, true),
			count("partial transactions", k.PartialTxns, true),
			count("failed writes", k.Failed, false))
	case u != nil && u.RefusedAsDeclared && len(u.Checkpoints) > 0:
		cp := u.Checkpoints[len(u.Checkpoints)-1]
		c.Rows = append(c.Rows,
			row{Label: "checked at", Value: cp.Stage},
			count("expected", cp.Expected, false),
			count("held", cp.Held, false),
			count("lost", cp.Lost, true),
			count("resurrected", cp.Resurrected, true),
			count("revision mismatch", cp.RevisionMismatch, true))
	case len(r.Failures) == 0:
		c.Rows = append(c.Rows, row{Label: "not verified", Value: "no recovered cluster, as the scenario expects"})
	default:
		c.Rows = append(c.Rows,
			count("failed writes", k.Failed, false),
			row{Label: "not verified", Value: "the drill stopped before the check", Bad: true})
	}
	return c
}

// recoveryCard is the RTO, the RPO and the backup.
func (r *Report) recoveryCard() card {
	c := card{Title: "Recovery", Rows: []row{
		{Label: "RTO", Value: fmt.Sprintf("%.3f s", r.RTOSeconds)},
		{Label: "the procedure", Value: fmt.Sprintf("%.3f s", r.RecoverySeconds)},
	}}
	if r.HealSeconds > 0 {
		c.Rows = append(c.Rows, row{Label: "heal to first write", Value: fmt.Sprintf("%.3f s", r.HealSeconds)})
	}
	c.Rows = append(c.Rows,
		row{Label: "RPO baseline", Value: orDash(r.RPO.Baseline)},
		row{Label: "acknowledged, not kept", Value: strconv.Itoa(r.RPO.AcknowledgedNotKept)},
		row{Label: "written after snapshot", Value: strconv.Itoa(r.RPO.WritesAfterSnapshot)})
	if s := r.Snapshot; s.Revision != 0 || s.Path != "" {
		c.Rows = append(c.Rows,
			row{Label: "snapshot revision", Value: fmt.Sprintf("%d (floor %d)", s.Revision, s.Floor), Bad: s.Revision < s.Floor},
			row{Label: "snapshot", Value: fmt.Sprintf("%d keys, %d bytes, from %s, hash %s", s.TotalKeys, s.SizeBytes, orDash(s.Member), checked(s.HashChecked))})
		if s.Path != "" {
			c.Rows = append(c.Rows, row{Label: "snapshot file", Link: fileLink(s.Path)})
		}
	}
	if cp := r.Compaction; cp != nil {
		c.Rows = append(c.Rows, row{Label: "compacted at", Value: fmt.Sprintf("revision %d; watch from below refused: %s", cp.Revision, yesNo(cp.WatchRefused)), Bad: !cp.WatchRefused})
	}
	return c
}

// clusterCard tells the old and the recovered cluster apart.
func (r *Report) clusterCard() card {
	cl := r.Cluster
	c := card{Title: "Cluster", Rows: []row{
		{Label: "old id", Value: orDash(cl.OldID)},
		{Label: "new id", Value: orDash(cl.NewID)},
		{Label: "id changed", Value: yesNo(cl.IDChanged)},
	}}
	if cl.NewID != "" {
		c.Rows = append(c.Rows, row{Label: "hashkv", Value: fmt.Sprintf("consistent: %s at revision %d", yesNo(cl.HashKVConsistent), cl.HashKVRevision), Bad: !cl.HashKVConsistent})
	}
	if len(cl.Members) > 0 {
		c.Rows = append(c.Rows, row{Label: "members", Value: strings.Join(cl.Members, ", ")})
	}
	if cl.RevisionBumpedFrom != 0 {
		c.Rows = append(c.Rows, row{Label: "revision bumped from", Value: strconv.FormatInt(cl.RevisionBumpedFrom, 10)})
	}
	return c
}

// since words a time as seconds from the drill's start.
func (r *Report) since(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmt.Sprintf("%.3f s from the start (%s)", t.Sub(r.Started).Seconds(), t.UTC().Format("15:04:05.000"))
}

// fileLink links a local path: an absolute one as a file: URL, a relative
// one as a relative URL. Only these two forms are made, so the URL is safe
// to mark as such; a path that looks like another scheme ("javascript:x")
// becomes the relative "./javascript:x".
func fileLink(path string) link {
	if path == "" {
		return link{}
	}
	u := &url.URL{Path: filepath.ToSlash(path)}
	if filepath.IsAbs(path) {
		u.Scheme = "file"
	}
	return link{Text: path, Href: template.URL(u.String())}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func checked(b bool) string {
	if b {
		return "checked"
	}
	return "not checked"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pageTemplate is parsed once and never changed.
var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Verdict}} {{.Scenario}} · etcd-drill</title>
<style>
:root { --pass: #1e7b34; --fail: #b3261e; --refused: #a86400; --muted: #5f6368; --line: #dadce0; --soft: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1120px; padding: 24px 28px 48px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #202124; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h2 .count { font-size: 13px; font-weight: normal; color: var(--muted); margin-left: 6px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.meta, p.none { color: var(--muted); margin: 4px 0; }
section.empty h2 { font-size: 15px; color: var(--muted); margin-top: 20px; }
section.empty p.none { display: inline; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px; overflow: auto; max-height: 24em; white-space: pre; }
a { color: #1a56b0; word-break: break-all; }
.verdict { border-radius: 8px; padding: 14px 20px; color: #fff; margin-bottom: 8px; }
.verdict.pass { background: var(--pass); }
.verdict.fail { background: var(--fail); }
.verdict.refused { background: var(--refused); }
.verdict .word { font-size: 30px; font-weight: 700; letter-spacing: .02em; margin-right: 14px; }
.verdict .scenario { font-size: 20px; font-weight: 600; }
.verdict .gist { display: block; opacity: .92; }
.verdict a { color: #fff; }
nav { font-size: 13px; margin: 6px 0 0; color: var(--muted); }
nav a { margin-right: 10px; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 14px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.card h3 { margin: 0 0 4px; font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card table { width: 100%; }
.card th { width: 42%; }
table { border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 3px 8px 3px 0; }
th { font-weight: 600; color: #3c4043; }
.card th { font-weight: normal; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: var(--fail); font-weight: 700; }
table.list { width: 100%; }
table.list th { border-bottom: 2px solid var(--line); padding: 6px 14px 6px 0; white-space: nowrap; }
table.list td.num { padding-right: 14px; }
table.list td.name { white-space: nowrap; }
table.list td { border-bottom: 1px solid var(--line); padding: 5px 10px 5px 0; }
table.list td.detail { color: #3c4043; }
table.list td.key, table.list td.value { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; word-break: break-all; }
tr.failed td { background: #fdecea; }
tr.failed td.error { color: var(--fail); font-weight: 600; }
ul.failures li { color: var(--fail); margin: 3px 0; }
.timeline { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
.timeline svg { display: block; max-width: 100%; height: auto; }
.item { border-left: 4px solid var(--line); padding: 2px 0 2px 12px; margin: 12px 0; }
.item.alarm { border-left-color: var(--fail); }
.item.warn { border-left-color: var(--refused); }
.item dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 4px 0; font-size: 14px; }
.item dt { color: var(--muted); }
.item dd { margin: 0; word-break: break-word; }
</style>
</head>
<body>
<section id="verdict" class="verdict {{.VerdictClass}}">
<span class="word">{{.Verdict}}</span><span class="scenario">{{.Scenario}}</span>
<span class="gist">{{.Gist}}{{if .Failures}} · <a href="#failures">see the failures</a>{{end}}</span>
</section>
{{with .Description}}<p>{{.}}</p>{{end}}
<p class="meta">{{.Meta}}</p>
{{with .Replay}}<p class="meta" id="replay">replay: <code>{{.}}</code></p>{{end}}
<nav><a href="#summary">summary</a><a href="#failures">failures</a><a href="#steps">steps</a><a href="#timeline">timeline</a><a href="#findings">findings</a>{{if .Upgrade}}<a href="#upgrade">upgrade</a>{{end}}<a href="#panics">panics</a><a href="#hazards">hazards</a><a href="#incidents">incidents</a><a href="#notes">notes</a>{{if .RunDir}}<a href="#rundir">run directory</a>{{end}}</nav>

<section id="summary">
<h2>Summary</h2>
<div class="cards">
{{range .Cards}}<div class="card"><h3>{{.Title}}</h3><table>
{{range .Rows}}<tr><th>{{.Label}}</th><td{{if .Bad}} class="bad"{{end}}>{{if .Link.Href}}<a href="{{.Link.Href}}">{{.Link.Text}}</a>{{else}}{{.Value}}{{end}}</td></tr>
{{end}}</table></div>
{{end}}</div>
</section>

<section id="failures"{{if not .Failures}} class="empty"{{end}}>
<h2>Failures<span class="count">{{len .Failures}}</span></h2>
{{if .Failures}}<ul class="failures">{{range .Failures}}<li>{{.}}</li>{{end}}</ul>{{else}}<p class="none">None.</p>{{end}}
{{with .Deadline}}<div class="item alarm" id="deadline"><strong>Deadline passed</strong> by step <code>{{.Step}}</code> after {{printf "%.0f" .Seconds}} s{{if .Drill}} (the drill's deadline){{end}}{{with .WaitingFor}}, waiting for {{.}}{{end}}.
{{if .Logs}}<br>Member logs to read: {{range $i, $l := .Logs}}{{if $i}}, {{end}}<a href="{{$l.Href}}">{{$l.Text}}</a>{{end}}{{end}}</div>{{end}}
{{if .RunbookLogs}}<p>Runbook output: {{range $i, $l := .RunbookLogs}}{{if $i}}, {{end}}<a href="{{$l.Href}}">{{$l.Text}}</a>{{end}}</p>{{end}}
</section>

<section id="steps">
<h2>Steps<span class="count">{{len .Steps}}</span></h2>
<table class="list">
<tr><th>step</th><th class="num">start (s)</th><th class="num">seconds</th><th>detail</th><th>error</th></tr>
{{range .Steps}}<tr class="step-row{{if .Error}} failed{{end}}"><td class="name"><code>{{.Name}}</code></td><td class="num">{{.Start}}</td><td class="num">{{.Seconds}}</td><td class="detail">{{.Detail}}</td><td class="error">{{.Error}}</td></tr>
{{end}}</table>
</section>

<section id="timeline">
<h2>Timeline</h2>
<div class="timeline">{{.Timeline}}</div>
</section>

<section id="findings"{{if not .Findings}} class="empty"{{end}}>
<h2>Findings<span class="count">{{len .Findings}}</span></h2>
{{if .Findings}}<table class="list">
<tr><th>key</th><th>kind</th><th>want (the ledger)</th><th>got</th></tr>
{{range .Findings}}<tr class="finding-row"><td class="key">{{.Key}}</td><td class="bad">{{.Kind}}</td><td class="value">{{.Want}}</td><td class="value">{{.Got}}</td></tr>
{{end}}</table>{{else}}<p class="none">None: every key is as the ledger says.</p>{{end}}
</section>

{{with .Upgrade}}<section id="upgrade">
<h2>Upgrade</h2>
<p>Path: <strong>{{.Path}}</strong></p>
{{with .Unsupported}}<p>Declared unsupported: {{.}}</p>{{end}}
{{if .RefusedAsDeclared}}<p class="meta">etcd refused this path, as declared; the members still up were checked.</p>{{end}}
<h3>Checkpoints</h3>
{{if .Checkpoints}}<table class="list">
<tr><th>stage</th><th class="num">revision</th><th class="num">expected</th><th class="num">held</th><th class="num">lost</th><th class="num">resurrected</th><th class="num">revision mismatch</th><th class="num">indeterminate</th><th class="num">seconds</th><th>held every write</th></tr>
{{range .Checkpoints}}<tr class="checkpoint-row{{if not .Passed}} failed{{end}}"><td>{{.Stage}}</td><td class="num">{{.Revision}}</td><td class="num">{{.Expected}}</td><td class="num">{{.Held}}</td><td class="num{{if .Lost}} bad{{end}}">{{.Lost}}</td><td class="num{{if .Resurrected}} bad{{end}}">{{.Resurrected}}</td><td class="num{{if .RevisionMismatch}} bad{{end}}">{{.RevisionMismatch}}</td><td class="num">{{.Indeterminate}}</td><td class="num">{{printf "%.3f" .Seconds}}</td><td>{{if .Passed}}yes{{else}}<span class="bad">no</span>{{end}}</td></tr>
{{end}}</table>{{else}}<p class="none">None.</p>{{end}}
<h3>Members that did not come up</h3>
{{range .Findings}}<div class="item alarm upgrade-finding"><strong>{{.Name}}</strong>: {{.Member}} on {{.Version}}
<dl><dt>from</dt><dd>{{.From}}</dd>{{with .Stage}}<dt>stage</dt><dd>{{.}}</dd>{{end}}<dt>message</dt><dd>{{.Message}}</dd>{{with .Caller}}<dt>caller</dt><dd><code>{{.}}</code></dd>{{end}}{{if .Log.Href}}<dt>log</dt><dd><a href="{{.Log.Href}}">{{.Log.Text}}</a></dd>{{end}}{{if .DataDir.Href}}<dt>data dir</dt><dd><a href="{{.DataDir.Href}}">{{.DataDir.Text}}</a></dd>{{end}}{{with .Replay}}<dt>replay</dt><dd><code>{{.}}</code></dd>{{end}}</dl></div>
{{else}}<p class="none">None.</p>{{end}}
</section>{{end}}

<section id="panics"{{if not .Panics}} class="empty"{{end}}>
<h2>Panics<span class="count">{{len .Panics}}</span></h2>
{{range .Panics}}<div class="item alarm panic"><strong>{{.Member}}</strong>: {{.Message}}
<dl>{{with .Caller}}<dt>caller</dt><dd><code>{{.}}</code></dd>{{end}}{{if .Log.Href}}<dt>log</dt><dd><a href="{{.Log.Href}}">{{.Log.Text}}</a></dd>{{end}}</dl>
{{with .Excerpt}}<pre class="excerpt">{{.}}</pre>{{end}}</div>
{{else}}<p class="none">None.</p>{{end}}
</section>

<section id="hazards"{{if not .Hazards}} class="empty"{{end}}>
<h2>Hazards<span class="count">{{len .Hazards}}</span></h2>
{{range .Hazards}}<div class="item warn hazard"><strong>{{.Name}}</strong>: {{.Detail}}</div>
{{else}}<p class="none">None.</p>{{end}}
</section>

<section id="incidents"{{if not .Incidents}} class="empty"{{end}}>
<h2>Incidents: what etcd did wrong<span class="count">{{len .Incidents}}</span></h2>
{{range .Incidents}}<div class="item alarm incident"><strong>{{.Name}}</strong> on {{.Member}}{{with .EtcdVersion}} (etcd {{.}}){{end}}
<dl><dt>message</dt><dd>{{.Message}}</dd><dt>detail</dt><dd>{{.Detail}}</dd>{{with .Workaround}}<dt>workaround</dt><dd>{{.}}</dd>{{end}}{{with .Replay}}<dt>replay</dt><dd><code>{{.}}</code></dd>{{end}}{{if .Log.Href}}<dt>log</dt><dd><a href="{{.Log.Href}}">{{.Log.Text}}</a></dd>{{end}}</dl>
{{with .Excerpt}}<pre class="excerpt">{{.}}</pre>{{end}}</div>
{{else}}<p class="none">None.</p>{{end}}
</section>

<section id="notes"{{if not .Notes}} class="empty"{{end}}>
<h2>Notes<span class="count">{{len .Notes}}</span></h2>
{{if .Notes}}<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{else}}<p class="none">None.</p>{{end}}
</section>

{{with .RunDir}}<section id="rundir">
<h2>Run directory</h2>
<p>Kept for a post-mortem: <a href="{{.Href}}">{{.Text}}</a></p>
</section>{{end}}
</body>
</html>
`
