package workload

import (
	"sort"
	"time"
)

// Downtime is what the writers saw of an outage: the last write the old
// cluster acknowledged, the first the recovered one did, and the longest
// time any one writer went without an acknowledgement.
type Downtime struct {
	// LastOld and FirstRecovered are when those answers came (zero if
	// there was none).
	LastOld, FirstRecovered time.Time
	// Longest is the longest gap between two acknowledgements of one
	// writer, whichever cluster gave them; LongestWriter is that writer.
	Longest       time.Duration
	LongestWriter int
}

// RTO is what a client saw: from the old cluster's last acknowledgement to
// the recovered one's first (0 if either is missing, or if the old cluster
// went on answering after the recovered one began).
func (d Downtime) RTO() time.Duration {
	if d.LastOld.IsZero() || d.FirstRecovered.IsZero() {
		return 0
	}
	return max(d.FirstRecovered.Sub(d.LastOld), 0)
}

// MeasureDowntime reads the downtime out of ops, whose Epoch says which
// cluster acknowledged each.
func MeasureDowntime(ops []Op) Downtime {
	var d Downtime
	acks := map[int][]time.Time{}
	for _, op := range ops {
		if op.Outcome != Acknowledged {
			continue
		}
		acks[op.Writer] = append(acks[op.Writer], op.Done)
		switch op.Epoch {
		case Old:
			if op.Done.After(d.LastOld) {
				d.LastOld = op.Done
			}
		case Recovered:
			if d.FirstRecovered.IsZero() || op.Done.Before(d.FirstRecovered) {
				d.FirstRecovered = op.Done
			}
		}
	}
	writers := make([]int, 0, len(acks))
	for w := range acks {
		writers = append(writers, w)
	}
	sort.Ints(writers)
	for _, w := range writers {
		ts := acks[w]
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		for i := 1; i < len(ts); i++ {
			if g := ts[i].Sub(ts[i-1]); g > d.Longest {
				d.Longest, d.LongestWriter = g, w
			}
		}
	}
	return d
}
