package workload

import (
	"testing"
	"time"
)

func TestMeasureDowntime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ack := func(w, ms int, e Epoch) Op { return Op{Writer: w, Outcome: Acknowledged, Done: at(ms), Epoch: e} }
	doubt := func(w int, e Epoch) Op { return Op{Writer: w, Outcome: Indeterminate, Epoch: e} }
	for _, tc := range []struct {
		name          string
		ops           []Op
		rto, longest  time.Duration
		longestWriter int
	}{
		{"no recovered write: no RTO", []Op{ack(0, 10, Old), ack(0, 30, Old)}, 0, 20 * time.Millisecond, 0},
		{"last old to first recovered, across writers",
			[]Op{ack(0, 10, Old), ack(1, 50, Old), doubt(1, Old), ack(0, 900, Recovered), ack(1, 700, Recovered)},
			650 * time.Millisecond, 890 * time.Millisecond, 0},
		{"in any ledger order",
			[]Op{ack(1, 700, Recovered), ack(0, 900, Recovered), ack(1, 50, Old), ack(0, 10, Old)},
			650 * time.Millisecond, 890 * time.Millisecond, 0},
		{"a writer that waited longest on the old cluster alone",
			[]Op{ack(0, 0, Old), ack(0, 100, Old), ack(3, 0, Old), ack(3, 2000, Old), ack(0, 300, Recovered)},
			0, 2000 * time.Millisecond, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := MeasureDowntime(tc.ops)
			if d.RTO() != tc.rto || d.Longest != tc.longest || d.LongestWriter != tc.longestWriter {
				t.Fatalf("RTO %v, longest %v by writer %d; want %v, %v by %d", d.RTO(), d.Longest, d.LongestWriter, tc.rto, tc.longest, tc.longestWriter)
			}
		})
	}
}
