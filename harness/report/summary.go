package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// StepLine formats one step for people: name, wall time, what it did.
func StepLine(s Step) string {
	line := fmt.Sprintf("  %-24s %7.3fs  %s", s.Name, s.Seconds, s.Detail)
	if s.Error != "" {
		line += "  ERROR: " + s.Error
	}
	return strings.TrimRight(line, " ")
}

// Header is the first line of a summary.
func (r *Report) Header() string {
	return fmt.Sprintf("etcd-drill %s  backend=%s members=%d seed=%d etcd=%s",
		r.Scenario, r.Backend, r.Members, r.Seed, r.EtcdVersion)
}

// WriteSummary writes the short summary: the steps (unless they were shown
// as they ran), key counts, RTO, RPO and the verdict.
func (r *Report) WriteSummary(w io.Writer, withSteps bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if withSteps {
		fmt.Fprintln(w, r.Header())
		for _, s := range r.Steps {
			fmt.Fprintln(w, StepLine(s))
		}
	}
	k := r.Keys
	if r.Verified {
		fmt.Fprintf(w, "keys:     acknowledged %d, expected %d, restored %d, lost %d, resurrected %d, indeterminate %d\n",
			k.Acknowledged, k.Expected, k.Restored, k.Lost, k.Resurrected, k.Indeterminate)
		fmt.Fprintf(w, "recovery: RTO %.3fs (%.3fs of it the procedure), RPO %d acknowledged writes not kept (checked against %s)\n",
			r.RTOSeconds, r.RecoverySeconds, r.RPO.AcknowledgedNotKept, r.RPO.Baseline)
	} else if u := r.Upgrade; u != nil && u.RefusedAsDeclared && len(u.Checkpoints) > 0 {
		c := u.Checkpoints[len(u.Checkpoints)-1]
		fmt.Fprintf(w, "keys:     acknowledged %d; at %s: expected %d, held %d, lost %d, resurrected %d, revisions rewritten %d\n",
			k.Acknowledged, c.Stage, c.Expected, c.Held, c.Lost, c.Resurrected, c.RevisionMismatch)
	} else if len(r.Failures) == 0 {
		fmt.Fprintf(w, "keys:     not verified: no recovered cluster, as the scenario expects (%d writes acknowledged)\n", k.Acknowledged)
	} else {
		fmt.Fprintf(w, "keys:     not verified (%d writes acknowledged, %d failed before the drill stopped)\n", k.Acknowledged, k.Failed)
	}
	if r.Cluster.NewID != "" {
		fmt.Fprintf(w, "cluster:  id %s -> %s, hashkv consistent %v at revision %d\n",
			r.Cluster.OldID, r.Cluster.NewID, r.Cluster.HashKVConsistent, r.Cluster.HashKVRevision)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
	for _, h := range r.Hazards {
		fmt.Fprintf(w, "HAZARD:   %s: %s\n", h.Name, h.Detail)
	}
	for _, i := range r.Incidents {
		fmt.Fprintf(w, "ETCD:     %s on %s: %s\n", i.Name, i.Member, i.Detail)
		if i.Workaround != "" {
			fmt.Fprintf(w, "          workaround: %s\n", i.Workaround)
		}
		where := fmt.Sprintf("%d lines of %s in the report", len(i.Excerpt), filepath.Base(i.Log))
		if r.Kept {
			where = i.Log
		}
		fmt.Fprintf(w, "          evidence: %s; replay: %s\n", where, i.Replay)
	}
	if d := r.Deadline; d != nil {
		fmt.Fprintf(w, "DEADLINE: step %s passed %.0fs; member logs to read: %s\n", d.Step, d.Seconds, strings.Join(d.Logs, ", "))
	}
	for _, p := range r.Panics {
		fmt.Fprintf(w, "panic:    %s: %s\n", p.Member, p.Message)
	}
	if u := r.Upgrade; u != nil {
		passed := 0
		for _, c := range u.Checkpoints {
			if c.Passed {
				passed++
			}
		}
		fmt.Fprintf(w, "upgrade:  %s; ledger checked at %d stages, %d held every acknowledged write\n", strings.Join(u.Path, " -> "), len(u.Checkpoints), passed)
		for _, f := range u.Findings {
			fmt.Fprintf(w, "          %s: %s on %s (from %s)%s: %s", f.Name, f.Member, f.Version, f.From, inStage(f.Stage), f.Message)
			if f.Caller != "" {
				fmt.Fprintf(w, " at %s", f.Caller)
			}
			fmt.Fprintf(w, "; data dir %s; replay: %s\n", f.DataDir, f.Replay)
		}
		if u.RefusedAsDeclared {
			fmt.Fprintf(w, "          etcd refused this path, declared unsupported: %s\n", u.Unsupported)
		}
	}
	for i, f := range r.Findings {
		if i == 5 {
			fmt.Fprintf(w, "          ... %d more findings in the report\n", len(r.Findings)-5)
			break
		}
		fmt.Fprintf(w, "%-9s %s: want %s, got %s\n", f.Kind+":", f.Key, f.Want, f.Got)
	}
	if l := r.Linearizability; l != nil && l.Visualization != "" {
		fmt.Fprintf(w, "history:  %s over %d operations; see %s\n", l.Verdict, l.Operations, l.Visualization)
	}
	for _, l := range r.RunbookLogs {
		fmt.Fprintf(w, "runbook:  output in %s\n", l)
	}
	if r.Kept && r.RunDir != "" {
		fmt.Fprintf(w, "kept:     %s\n", r.RunDir)
	}
	if r.Passed && r.Upgrade != nil && r.Upgrade.RefusedAsDeclared {
		fmt.Fprintf(w, "REFUSED AS DECLARED %s in %.2fs: no acknowledged write lost\n", r.Scenario, r.Seconds)
		return
	}
	if r.Passed {
		fmt.Fprintf(w, "PASS %s in %.2fs\n", r.Scenario, r.Seconds)
		return
	}
	fmt.Fprintf(w, "FAIL %s in %.2fs\n", r.Scenario, r.Seconds)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  - %s\n", f)
	}
}

func inStage(s string) string {
	if s == "" {
		return ""
	}
	return " in " + s
}
