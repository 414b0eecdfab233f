package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The timeline's geometry, in SVG user units (pixels at scale 1).
const (
	svgWidth    = 1000
	plotLeft    = 72            // room for the rate chart's y axis
	plotRight   = svgWidth - 28 // room for the last tick label
	plotWidth   = plotRight - plotLeft
	fontSize    = 11           // the picture's text size
	charWidth   = 6.3          // a generous estimate of a character's width at fontSize
	laneHeight  = 18           // one row of step bands or spans
	barHeight   = 13           // a band's height within its row
	eventLane   = 14           // one row of event labels
	rateHeight  = 150          // the write rate chart's height
	labelGap    = 8            // the least room between labels in a row
	maxDrawn    = 1000         // buckets drawn at most: more are summed
	crossRadius = 3.5          // half the size of a failed-write mark
	tickTarget  = 10           // about as many time ticks as this
	colourText  = "#222"       // labels
	colourGrid  = "#e3e3e3"    // grid lines
	colourAxis  = "#666"       // axes and ticks
	colourOld   = "#3b78b5"    // writes the old cluster acknowledged
	colourNew   = "#2e9e48"    // writes the recovered cluster acknowledged
	colourFail  = "#d0281f"    // failed steps, failed writes, the fault
	colourDoubt = "#e8890c"    // indeterminate writes, the fault confirmed
	colourRTO   = "#9b59b6"    // the outage a client saw
	fontFamily  = "sans-serif" // generic: no font is fetched
	svgNS       = "http://www.w3.org/2000/svg"
)

// TimelineSVG draws the drill as a self-contained SVG image about 1000
// pixels wide: its steps as bands on one time axis in seconds from Started,
// the fault, its confirmation and the first write of the recovered cluster
// as markers, the quorum-lost and RTO spans, and below them the writes per
// bucket of Rate. The image fetches nothing (generic font, no scripts, no
// links), every text in it is escaped, and it parses as XML.
//
// Elements carry stable attributes for tools and tests: rect.step with
// data-step, line.event with data-event (fault, confirmed, first-write),
// rect.span with data-span (quorum-lost, rto), and .rate with data-series
// (old, recovered, failed, indeterminate).
func (r *Report) TimelineSVG() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.timelineSVG()
}

// timelineSVG is TimelineSVG for a caller that holds r.mu.
func (r *Report) timelineSVG() []byte {
	return r.timeline().draw()
}

// timeline is what the picture shows, in seconds from the drill's start.
type timeline struct {
	title, scenario, heading string
	verdict, verdictColour   string  // the verdict, in the heading
	end, tick                float64 // the axis runs from 0 to end, ticked every tick
	steps                    []Step
	events                   []mark
	spans                    []mark
	rate                     *drawnRate
}

// mark is an event (at From) or a span (From to To) of the timeline.
type mark struct {
	kind, label, title, colour string
	legend                     string // what the legend calls it
	from, to                   float64
}

// drawnRate is Rate summed into at most maxDrawn buckets.
type drawnRate struct {
	bucket                                float64 // seconds per drawn bucket
	old, recovered, failed, indeterminate []int
}

// timeline gathers what the picture shows from the report.
func (r *Report) timeline() *timeline {
	word, class := r.verdict()
	colour := colourNew
	switch class {
	case "fail":
		colour = colourFail
	case "pass refused":
		colour = colourDoubt
	}
	t := &timeline{
		title:         "etcd-drill timeline: " + r.Scenario,
		scenario:      r.Scenario,
		heading:       fmt.Sprintf(" in %.2f s · %s, %d members", r.Seconds, r.Backend, r.Members),
		verdict:       word,
		verdictColour: colour,
		steps:         r.Steps,
		events:        r.timelineEvents(),
		spans:         r.timelineSpans(),
		rate:          drawRate(r.Rate),
	}
	t.fitAxis(r.Seconds)
	return t
}

// sinceStart is when at was, in seconds from the drill's start; false when
// either is unknown.
func (r *Report) sinceStart(at time.Time) (float64, bool) {
	if at.IsZero() || r.Started.IsZero() {
		return 0, false
	}
	return at.Sub(r.Started).Seconds(), true
}

// stepEnd is when the first step of the name ended; false when none ran.
func (r *Report) stepEnd(name string) (float64, bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s.Start + s.Seconds, true
		}
	}
	return 0, false
}

// faultAt is when the fault was made; false when there was none.
func (r *Report) faultAt() (float64, bool) {
	if r.Fault == nil {
		return 0, false
	}
	return r.sinceStart(r.Fault.At)
}

// firstRecoveredWrite is when the recovered cluster first acknowledged a
// write: as the writers saw it with traffic, else the end of the
// first-write step; false when neither is known.
func (r *Report) firstRecoveredWrite() (float64, bool) {
	if t := r.Traffic; t != nil {
		if at, ok := r.sinceStart(t.FirstRecoveredAck); ok {
			return at, true
		}
	}
	return r.stepEnd("first-write")
}

// timelineEvents are the fault, its confirmation and the first write of
// the recovered cluster, those that are known, in time order.
func (r *Report) timelineEvents() []mark {
	var events []mark
	if fault, ok := r.faultAt(); ok {
		label := "fault"
		if r.Fault.Name != "" {
			label += ": " + r.Fault.Name
		}
		title := fmt.Sprintf("%s at %s s", label, secs(fault))
		if r.Fault.Detail != "" {
			title += "; " + r.Fault.Detail
		}
		events = append(events, mark{kind: "fault", label: label, legend: "fault", colour: colourFail, from: fault, title: title})
	}
	if r.Fault != nil {
		if at, ok := r.sinceStart(r.Fault.ConfirmedAt); ok {
			events = append(events, mark{kind: "confirmed", label: "fault confirmed", legend: "fault confirmed", colour: colourDoubt, from: at,
				title: fmt.Sprintf("fault confirmed in force at %s s", secs(at))})
		}
	}
	if at, ok := r.firstRecoveredWrite(); ok {
		events = append(events, mark{kind: "first-write", label: "first write", legend: "first write of the recovered cluster", colour: colourNew, from: at,
			title: fmt.Sprintf("first write acknowledged by the recovered cluster at %s s", secs(at))})
	}
	slices.SortStableFunc(events, func(a, b mark) int { return cmp.Compare(a.from, b.from) })
	return events
}

// timelineSpans are the quorum lost, from the fault to the end of the
// recover step (to the end of the axis when it never ended), and the RTO:
// with traffic, from the old cluster's last acknowledgement to the
// recovered one's first; else from the fault to the first write. Each is
// there only when it applies and its ends are known.
func (r *Report) timelineSpans() []mark {
	var spans []mark
	fault, faulted := r.faultAt()
	if faulted && r.Fault.QuorumLost {
		to, recovered := r.stepEnd("recover")
		label := fmt.Sprintf("quorum lost %.2f s", to-fault)
		if !recovered {
			to, label = math.Inf(1), "quorum lost, not recovered"
		}
		spans = append(spans, mark{kind: "quorum-lost", label: label, legend: "quorum lost", colour: colourFail, from: fault, to: to,
			title: label + ": from the fault to the end of the recover step"})
	}
	if r.RTOSeconds > 0 {
		first, wrote := r.firstRecoveredWrite()
		from, to, ok := fault, first, faulted && wrote
		if t := r.Traffic; t != nil {
			a, okA := r.sinceStart(t.LastOldAck)
			b, okB := r.sinceStart(t.FirstRecoveredAck)
			if okA && okB {
				from, to, ok = a, b, true
			}
		}
		if ok {
			label := fmt.Sprintf("RTO %.2f s", r.RTOSeconds)
			spans = append(spans, mark{kind: "rto", label: label, legend: "RTO: the outage a client saw", colour: colourRTO, from: from, to: to,
				title: fmt.Sprintf("%s: from %s s to %s s", label, secs(from), secs(to))})
		}
	}
	return spans
}

// fitAxis sets the axis to hold the drill's seconds and everything drawn,
// ending on a tick, and ends at it the spans that do not end.
func (t *timeline) fitAxis(seconds float64) {
	end := seconds
	for _, s := range t.steps {
		end = max(end, s.Start+s.Seconds)
	}
	for _, m := range slices.Concat(t.events, t.spans) {
		end = max(end, m.from)
		if !math.IsInf(m.to, 1) {
			end = max(end, m.to)
		}
	}
	if t.rate != nil {
		end = max(end, float64(t.rate.len())*t.rate.bucket)
	}
	if end <= 0 || math.IsNaN(end) || math.IsInf(end, 0) {
		end = 1
	}
	t.tick = niceStep(end / tickTarget)
	t.end = math.Ceil(end/t.tick-1e-9) * t.tick
	for i := range t.spans {
		t.spans[i].to = min(t.spans[i].to, t.end)
	}
}

// drawRate sums rate's buckets so that at most maxDrawn are drawn; nil when
// there is no rate to draw.
func drawRate(rate *Rate) *drawnRate {
	if rate == nil || rate.BucketSeconds <= 0 {
		return nil
	}
	n := max(len(rate.Old), len(rate.Recovered), len(rate.Failed), len(rate.Indeterminate))
	if n == 0 {
		return nil
	}
	k := (n + maxDrawn - 1) / maxDrawn
	sum := func(in []int) []int {
		out := make([]int, (n+k-1)/k)
		for i, v := range in {
			out[i/k] += v
		}
		return out
	}
	return &drawnRate{bucket: rate.BucketSeconds * float64(k),
		old: sum(rate.Old), recovered: sum(rate.Recovered), failed: sum(rate.Failed), indeterminate: sum(rate.Indeterminate)}
}

func (d *drawnRate) len() int { return len(d.old) }

// peak is the largest count of any series in one drawn bucket.
func (d *drawnRate) peak() int {
	return max(slices.Max(d.old), slices.Max(d.recovered), slices.Max(d.failed), slices.Max(d.indeterminate))
}

// placed is a label set in a row: its text's anchor and where it starts,
// and the row's extent it takes with whatever it labels.
type placed struct {
	x      float64
	anchor string
	lo, hi float64
	inside bool // the label is within its band
	lane   int
}

// place puts a label for the band from x0 to x1 inside it when it fits,
// else after it, else before it when after would leave the plot.
func place(label string, x0, x1 float64) placed {
	w := textWidth(label)
	switch {
	case x1-x0 >= w+8:
		return placed{x: x0 + 4, anchor: "start", lo: x0, hi: x1, inside: true}
	case x1+4+w <= svgWidth-4:
		return placed{x: x1 + 4, anchor: "start", lo: x0, hi: x1 + 4 + w}
	default:
		return placed{x: x0 - 4, anchor: "end", lo: x0 - 4 - w, hi: x1}
	}
}

// packLanes gives each extent the first lane where it overlaps nothing
// (with labelGap between), in order, and returns how many lanes it used.
func packLanes(ps []placed) int {
	var ends []float64 // the right end of each lane so far
	for i := range ps {
		lane := slices.IndexFunc(ends, func(e float64) bool { return e+labelGap <= ps[i].lo })
		if lane < 0 {
			lane = len(ends)
			ends = append(ends, 0)
		}
		ps[i].lane = lane
		ends[lane] = ps[i].hi
	}
	return len(ends)
}

// halo outlines a label outside its band in white, so that the lines it
// crosses do not hide it.
func halo(p placed) string {
	if p.inside {
		return ""
	}
	return ` stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"`
}

// textWidth estimates how wide s is drawn at fontSize.
func textWidth(s string) float64 {
	return float64(len([]rune(s))) * charWidth
}

// layout is where the rows of the picture are, from the top: the heading,
// the event labels, the spans, the step bands, the rate chart (or a line
// saying there is none), then the time axis and the legend.
type layout struct {
	headingY, eventTop, spanTop, stepTop, rateTop float64
	plotTop, plotBottom                           float64
	events, steps                                 []placed // the labels of events and steps
}

// x is where s seconds from the start is drawn.
func (t *timeline) x(s float64) float64 {
	return plotLeft + min(max(s, 0), t.end)/t.end*plotWidth
}

// ticks is the seconds of the axis's ticks.
func (t *timeline) ticks() []float64 {
	var out []float64
	for i := 0; float64(i)*t.tick <= t.end+t.tick/2; i++ {
		out = append(out, float64(i)*t.tick)
	}
	return out
}

// band is where the band of a step is drawn: at least 2 units wide.
func (t *timeline) band(s Step) (x0, x1 float64) {
	x0 = t.x(s.Start)
	return x0, max(t.x(s.Start+s.Seconds), x0+2)
}

// layout places the labels in lanes and the rows below each other.
func (t *timeline) layout() layout {
	l := layout{headingY: 20, eventTop: 26}
	l.events = make([]placed, len(t.events))
	for i, e := range t.events {
		l.events[i] = place(e.label, t.x(e.from), t.x(e.from))
	}
	l.plotTop = l.eventTop + float64(packLanes(l.events))*eventLane + 4
	l.spanTop = l.plotTop
	l.stepTop = l.spanTop + float64(len(t.spans))*laneHeight
	l.steps = make([]placed, len(t.steps))
	for i, s := range t.steps {
		x0, x1 := t.band(s)
		l.steps[i] = place(s.Name, x0, x1)
	}
	y := l.stepTop + float64(packLanes(l.steps))*laneHeight + 6
	l.rateTop = y + 10
	if t.rate != nil {
		l.plotBottom = l.rateTop + rateHeight
	} else {
		l.plotBottom = y + 20
	}
	return l
}

// draw renders the timeline as SVG: the grid first, the bands and labels
// last, so that lines pass beneath text.
func (t *timeline) draw() []byte {
	var b svgBuilder
	l := t.layout()
	b.f(`<title>%s</title>`, esc(t.title))
	b.f(`<rect width="100%%" height="100%%" fill="#fff"/>`)
	b.f(`<text x="%d" y="%s" font-size="13" font-weight="bold" fill="%s">%s · <tspan fill="%s">%s</tspan>%s</text>`,
		plotLeft, num(l.headingY), colourText, esc(t.scenario), t.verdictColour, esc(t.verdict), esc(t.heading))
	for _, s := range t.ticks() {
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(t.x(s)), num(l.plotTop), num(t.x(s)), num(l.plotBottom), colourGrid)
	}
	for _, s := range t.spans {
		if s.kind == "quorum-lost" { // shaded through the whole plot
			b.f(`<rect class="shade" x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.07"/>`,
				num(t.x(s.from)), num(l.plotTop), num(max(t.x(s.to)-t.x(s.from), 1)), num(l.plotBottom-l.plotTop), s.colour)
		}
	}
	if t.rate != nil {
		t.drawRate(&b, l.rateTop)
	} else {
		b.f(`<text x="%d" y="%s" fill="%s" font-style="italic">no write rate recorded</text>`, plotLeft, num(l.plotBottom-6), colourAxis)
	}
	t.drawEvents(&b, l)
	t.drawSpans(&b, l)
	t.drawSteps(&b, l)
	y := t.drawAxis(&b, l.plotBottom)
	y = t.drawLegend(&b, y+22)
	return b.close(svgWidth, math.Ceil(y+8))
}

// drawEvents draws each event as a line from its label down the plot.
func (t *timeline) drawEvents(b *svgBuilder, l layout) {
	for i, e := range t.events {
		p := l.events[i]
		y := l.eventTop + float64(p.lane+1)*eventLane - 3 // the label's baseline
		dash := ""
		if e.kind != "first-write" {
			dash = ` stroke-dasharray="5 3"`
		}
		b.f(`<line class="event" data-event="%s" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5"%s><title>%s</title></line>`,
			esc(e.kind), num(t.x(e.from)), num(y-eventLane+4), num(t.x(e.from)), num(l.plotBottom), e.colour, dash, esc(e.title))
		b.f(`<text x="%s" y="%s" text-anchor="%s" fill="%s" font-weight="bold">%s</text>`, num(p.x), num(y), p.anchor, e.colour, esc(e.label))
	}
}

// drawSpans draws each span in a row of its own.
func (t *timeline) drawSpans(b *svgBuilder, l layout) {
	for i, s := range t.spans {
		top := l.spanTop + float64(i)*laneHeight
		x0, x1 := t.x(s.from), max(t.x(s.to), t.x(s.from)+2)
		p := place(s.label, x0, x1)
		// White beneath, so that the event lines do not show through.
		b.f(`<rect x="%s" y="%s" width="%s" height="%d" fill="#fff"/>`, num(x0), num(top), num(x1-x0), barHeight)
		b.f(`<rect class="span" data-span="%s" x="%s" y="%s" width="%s" height="%d" fill="%s" fill-opacity="0.25" stroke="%s"><title>%s</title></rect>`,
			esc(s.kind), num(x0), num(top), num(x1-x0), barHeight, s.colour, s.colour, esc(s.title))
		b.f(`<text x="%s" y="%s" text-anchor="%s" fill="%s" font-weight="bold"%s>%s</text>`,
			num(p.x), num(top+barHeight-3), p.anchor, s.colour, halo(p), esc(s.label))
	}
}

// drawSteps draws each step as a band in its lane, a failed one red with
// its error in its title, the recover step green.
func (t *timeline) drawSteps(b *svgBuilder, l layout) {
	for i, s := range t.steps {
		p := l.steps[i]
		top := l.stepTop + float64(p.lane)*laneHeight
		x0, x1 := t.band(s)
		fill, stroke, weight, textFill := "#c9d6e8", "#6d84a3", "normal", colourText
		switch {
		case s.Error != "":
			fill, stroke, weight, textFill = colourFail, "#8c1410", "bold", colourFail
			if p.inside {
				textFill = "#fff"
			}
		case s.Name == "recover":
			fill, stroke = "#b5e0bd", colourNew
		}
		title := fmt.Sprintf("%s: %s s from %s s", s.Name, secs(s.Seconds), secs(s.Start))
		if s.Detail != "" {
			title += "\n" + s.Detail
		}
		if s.Error != "" {
			title += "\nerror: " + s.Error
		}
		b.f(`<rect class="step" data-step="%s" x="%s" y="%s" width="%s" height="%d" rx="2" fill="%s" stroke="%s"><title>%s</title></rect>`,
			esc(s.Name), num(x0), num(top), num(x1-x0), barHeight, fill, stroke, esc(title))
		b.f(`<text x="%s" y="%s" text-anchor="%s" fill="%s" font-weight="%s"%s>%s</text>`,
			num(p.x), num(top+barHeight-3), p.anchor, textFill, weight, halo(p), esc(s.Name))
	}
}

// drawAxis draws the time axis at y and returns where its title is.
func (t *timeline) drawAxis(b *svgBuilder, y float64) float64 {
	b.f(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s"/>`, plotLeft, num(y), plotRight, num(y), colourAxis)
	for _, s := range t.ticks() {
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(t.x(s)), num(y), num(t.x(s)), num(y+4), colourAxis)
		b.f(`<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, num(t.x(s)), num(y+16), colourAxis, tickLabel(s, t.tick))
	}
	b.f(`<text x="%d" y="%s" text-anchor="middle" fill="%s">seconds from the drill's start</text>`, plotLeft+plotWidth/2, num(y+34), colourAxis)
	return y + 34
}

// drawRate draws the writes per bucket from top down rateHeight.
func (t *timeline) drawRate(b *svgBuilder, top float64) {
	d := t.rate
	bottom := top + rateHeight
	peak := max(d.peak(), 1)
	y := func(v int) float64 { return bottom - float64(v)/float64(peak)*rateHeight }
	at := func(i int) float64 { return t.x(float64(i) * d.bucket) }

	// The y axis: its label, zero and the peak.
	b.f(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s"/>`, plotLeft, num(top), plotLeft, num(bottom), colourAxis)
	b.f(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s" stroke-dasharray="2 3"/>`, plotLeft, num(top), plotRight, num(top), colourGrid)
	for _, v := range []int{0, peak} {
		b.f(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s"/>`, plotLeft-4, num(y(v)), plotLeft, num(y(v)), colourAxis)
		b.f(`<text x="%d" y="%s" text-anchor="end" fill="%s">%d</text>`, plotLeft-6, num(y(v)+4), colourAxis, v)
	}
	cy := top + rateHeight/2
	b.f(`<text x="20" y="%s" text-anchor="middle" fill="%s" transform="rotate(-90 20 %s)">writes per %s</text>`,
		num(cy), colourAxis, num(cy), bucketLabel(d.bucket))

	// Acknowledged writes as stepped areas, one per cluster.
	for _, s := range []struct {
		series, colour string
		values         []int
	}{{"old", colourOld, d.old}, {"recovered", colourNew, d.recovered}} {
		if slices.Max(s.values) == 0 {
			continue
		}
		var path strings.Builder
		fmt.Fprintf(&path, "M%s %s", num(at(0)), num(bottom))
		for i, v := range s.values {
			fmt.Fprintf(&path, "V%sH%s", num(y(v)), num(at(i+1)))
		}
		fmt.Fprintf(&path, "V%sZ", num(bottom))
		b.f(`<path class="rate" data-series="%s" d="%s" fill="%s" fill-opacity="0.55" stroke="%s" stroke-width="1"/>`, s.series, path.String(), s.colour, s.colour)
	}

	// Failed and indeterminate writes as marks at their counts.
	for _, s := range []struct {
		series, what, colour string
		values               []int
	}{{"failed", "failed", colourFail, d.failed}, {"indeterminate", "indeterminate", colourDoubt, d.indeterminate}} {
		if slices.Max(s.values) == 0 {
			continue
		}
		b.f(`<g class="rate" data-series="%s">`, s.series)
		for i, v := range s.values {
			if v == 0 {
				continue
			}
			mx, my := (at(i)+at(i+1))/2, y(v)
			title := fmt.Sprintf("%d %s from %s s to %s s", v, s.what, secs(float64(i)*d.bucket), secs(float64(i+1)*d.bucket))
			if s.series == "failed" {
				r := crossRadius
				b.f(`<path d="M%s %sL%s %sM%s %sL%s %s" stroke="%s" stroke-width="2"><title>%s</title></path>`,
					num(mx-r), num(my-r), num(mx+r), num(my+r), num(mx-r), num(my+r), num(mx+r), num(my-r), s.colour, esc(title))
			} else {
				b.f(`<circle cx="%s" cy="%s" r="3.5" fill="#fff" stroke="%s" stroke-width="2"><title>%s</title></circle>`, num(mx), num(my), s.colour, esc(title))
			}
		}
		b.f(`</g>`)
	}
}

// drawLegend draws a key to what the picture shows, in rows from y, and
// returns where it ends.
func (t *timeline) drawLegend(b *svgBuilder, y float64) float64 {
	type item struct{ label, shape, colour string }
	items := []item{{"step", "band", "#6d84a3"}, {"recover step", "band", colourNew}}
	if slices.ContainsFunc(t.steps, func(s Step) bool { return s.Error != "" }) {
		items = append(items, item{"failed step", "band", colourFail})
	}
	for _, s := range t.spans {
		items = append(items, item{s.legend, "span", s.colour})
	}
	for _, e := range t.events {
		items = append(items, item{e.legend, "line", e.colour})
	}
	if d := t.rate; d != nil {
		items = append(items,
			item{fmt.Sprintf("acknowledged by the old cluster (%d)", total(d.old)), "area", colourOld},
			item{fmt.Sprintf("acknowledged by the recovered cluster (%d)", total(d.recovered)), "area", colourNew},
			item{fmt.Sprintf("failed (%d)", total(d.failed)), "cross", colourFail},
			item{fmt.Sprintf("indeterminate (%d)", total(d.indeterminate)), "circle", colourDoubt})
	}
	xx := float64(plotLeft)
	for _, it := range items {
		w := 22 + textWidth(it.label) + 14
		if xx+w > plotRight && xx > plotLeft {
			xx, y = plotLeft, y+18
		}
		switch it.shape {
		case "band", "span", "area":
			b.f(`<rect x="%s" y="%s" width="16" height="10" fill="%s" fill-opacity="0.45" stroke="%s"/>`, num(xx), num(y-9), it.colour, it.colour)
		case "line":
			b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>`, num(xx+8), num(y-11), num(xx+8), num(y+2), it.colour)
		case "cross":
			b.f(`<path d="M%s %sL%s %sM%s %sL%s %s" stroke="%s" stroke-width="2"/>`, num(xx+4), num(y-8), num(xx+11), num(y-1), num(xx+4), num(y-1), num(xx+11), num(y-8), it.colour)
		case "circle":
			b.f(`<circle cx="%s" cy="%s" r="3.5" fill="#fff" stroke="%s" stroke-width="2"/>`, num(xx+8), num(y-4), it.colour)
		}
		b.f(`<text x="%s" y="%s" fill="%s">%s</text>`, num(xx+22), num(y), colourText, esc(it.label))
		xx += w
	}
	return y
}

// svgBuilder accumulates the SVG's elements.
type svgBuilder struct{ body strings.Builder }

// f appends one element; its arguments must already be escaped.
func (b *svgBuilder) f(format string, args ...any) {
	fmt.Fprintf(&b.body, format, args...)
	b.body.WriteByte('\n')
}

// close wraps the elements in the root svg element, now that the height is known.
func (b *svgBuilder) close(width int, height float64) []byte {
	var out strings.Builder
	fmt.Fprintf(&out, `<svg xmlns="%s" width="%d" height="%s" viewBox="0 0 %d %s" font-family="%s" font-size="%d" role="img">`+"\n",
		svgNS, width, num(height), width, num(height), fontFamily, fontSize)
	out.WriteString(b.body.String())
	out.WriteString("</svg>\n")
	return []byte(out.String())
}

// esc escapes s for XML text and attribute values, and replaces what XML
// cannot hold (control characters, invalid UTF-8).
func esc(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '&':
			b.WriteString("&amp;")
		case c == '"':
			b.WriteString("&quot;")
		case c == '\'':
			b.WriteString("&apos;")
		case c == '\n' || c == '\t':
			b.WriteRune(c)
		case c < 0x20 || c == 0xFFFE || c == 0xFFFF || (c >= 0xD800 && c <= 0xDFFF):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(c) // invalid UTF-8 came in as U+FFFD already
		}
	}
	return b.String()
}

// num formats a coordinate.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// secs formats seconds for a tooltip.
func secs(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// niceStep is the least of 1, 2 or 5 times a power of ten not below raw.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// tickLabel formats a tick at s with as many decimals as the step needs.
func tickLabel(s, step float64) string {
	decimals := max(0, int(math.Ceil(-math.Log10(step)-1e-9)))
	return strconv.FormatFloat(s, 'f', decimals, 64)
}

// bucketLabel names a bucket's width: "100 ms", "1.6 s".
func bucketLabel(seconds float64) string {
	if ms := seconds * 1000; ms < 1000 {
		return strconv.FormatFloat(math.Round(ms*1000)/1000, 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(math.Round(seconds*1000)/1000, 'f', -1, 64) + " s"
}

func total(vs []int) int {
	n := 0
	for _, v := range vs {
		n += v
	}
	return n
}
