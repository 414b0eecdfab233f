package scenarios

import (
	"fmt"
	"strings"

	"github.com/etcd-drill/etcd-drill/harness/logs"
	"github.com/etcd-drill/etcd-drill/harness/report"
)

// IncidentLogFlood names a member that wrote its log faster than any healthy
// member does (see logs.Stats.Flooding): etcd stuck in a loop.
const IncidentLogFlood = "log-flood"

// collectIncidents lists what etcd did wrong: what the clusters saw while
// they were awaited (a publish spin), and members that flooded their logs.
// Each carries the command that replays the drill. A flood fails the drill
// and keeps its run directory; an incident the scenario does not expect and
// that a workaround got past does not.
func (r *runner) collectIncidents() {
	replay := ReplayCommand(r.sc, r.o)
	seen, read := map[string]bool{}, map[string]bool{}
	for _, c := range r.d.Clusters() {
		explained := map[string]bool{}
		for _, i := range c.Incidents() {
			i.Replay = replay
			r.rep.AddIncident(i)
			seen[i.Name], explained[i.Member] = true, true
		}
		for _, m := range c.AllMembers() {
			// A member whose loop is already an incident floods its log
			// as a symptom of it (the embedded backend's spin runs at 4,000
			// sampled lines a second): that incident says it.
			if read[m.LogPath()] || explained[m.Name()] {
				continue
			}
			read[m.LogPath()] = true
			st, err := logs.Analyze(m.LogPath())
			if err != nil || !st.Flooding() {
				continue
			}
			r.flooded = true
			r.rep.AddIncident(report.Incident{
				Name: IncidentLogFlood, Member: m.Name(), EtcdVersion: r.d.Backend.EtcdVersion(),
				Message: st.Top,
				Detail: fmt.Sprintf("%d lines in %v (%.0f lines/s), %d of them %q",
					st.Lines+st.DroppedLines, st.Last.Sub(st.First).Round(1e6), st.LinesPerSecond, st.TopCount, st.Top),
				Log: m.LogPath(), Replay: replay,
			})
			r.rep.Fail("%s: member %s flooded its log (%.0f lines/s, most of them %q): see %s", IncidentLogFlood, m.Name(), st.LinesPerSecond, st.Top, m.LogPath())
		}
	}
	if want := r.sc.Expect.Incident; want != "" && !seen[want] {
		r.rep.Fail("%s: the scenario is about this etcd bug, and the drill did not see it", want)
	}
}

// ReplayCommand is the etcd-drill command line that runs this drill again:
// the same scenario, backend, size, seed and timing.
func ReplayCommand(sc Scenario, o Options) string {
	args := []string{"etcd-drill", "run", sc.Name,
		"--backend", orEmbedded(o.Backend),
		"--members", fmt.Sprint(o.Members),
		"--keys", fmt.Sprint(o.Keys),
		"--seed", fmt.Sprint(o.Seed)}
	d := DefaultOptions()
	if o.WritesAfter != d.WritesAfter {
		args = append(args, "--writes-after", fmt.Sprint(o.WritesAfter))
	}
	if o.Workload.ValueSize != d.Workload.ValueSize {
		args = append(args, "--value-size", fmt.Sprint(o.Workload.ValueSize))
	}
	if o.Workload.Concurrency != d.Workload.Concurrency {
		args = append(args, "--concurrency", fmt.Sprint(o.Workload.Concurrency))
	}
	if o.Timing != d.Timing {
		args = append(args, "--heartbeat", o.Timing.Heartbeat.String(), "--election", o.Timing.Election.String())
	}
	if o.NoFsync {
		args = append(args, "--unsafe-no-fsync")
	}
	if !o.continuous() && sc.Phased == "" {
		args = append(args, "--traffic", TrafficPhased)
	}
	if o.TrafficRate != d.TrafficRate {
		args = append(args, "--traffic-rate", fmt.Sprint(o.TrafficRate))
	}
	if w, dw := o.Workload, d.Workload; w.ReadRatio != dw.ReadRatio || w.TxnRatio != dw.TxnRatio || w.TxnSize != dw.TxnSize {
		args = append(args, "--read-ratio", fmt.Sprint(w.ReadRatio), "--txn-ratio", fmt.Sprint(w.TxnRatio), "--txn-size", fmt.Sprint(w.TxnSize))
	}
	if o.Recovery == "runbook" {
		args = append(args, "--recovery", "runbook", "--runbook", o.Runbook)
	}
	for _, v := range []struct{ flag, value string }{{"--etcd-version", o.EtcdVersion}, {"--restore-version", o.RestoreVersion}, {"--to", o.UpgradeTo}} {
		if v.value != "" {
			args = append(args, v.flag, v.value)
		}
	}
	if o.Migrate {
		args = append(args, "--migrate")
	}
	if o.Auth {
		args = append(args, "--auth")
	}
	if len(o.Path) > 2 {
		args = append(args, "--path", strings.Join(o.Path, ","))
	}
	if len(o.Path) > 0 && o.HopWrites != d.HopWrites {
		args = append(args, "--hop-writes", fmt.Sprint(o.HopWrites))
	}
	return strings.Join(args, " ")
}
