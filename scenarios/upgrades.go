package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness/logs"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// FindingCheckpoint: at a stage of an upgrade, the cluster did not hold
// every acknowledged write as the ledger has it.
const FindingCheckpoint = "checkpoint"

// checkpoint checks the cluster under test against the ledger at a stage of
// a fault that changes it in stages (an upgrade, member by member). The
// stage's writes are acknowledged first; then the keyspace is read at one
// revision and, once every write sent before that read has its outcome in
// the ledger, checked against every write the ledger holds, values and
// revisions, while the writers go on. The short lease's keys are left to
// check-leases: its keep-alive ended at the fault, and it may expire in
// any stage. A key lost, resurrected or at another revision stops the
// fault with the findings recorded.
func (r *runner) checkpoint(ctx context.Context, s faults.Stage) error {
	start := time.Now()
	if err := r.stageWrites(ctx, s.Writes); err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.Name, err)
	}
	cli, err := r.cluster.Client()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.Name, err)
	}
	ks, err := verify.OpenKeyspace(ctx, cli, r.o.Workload.Prefix, r.o.Workload.ValueSize)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.Name, err)
	}
	if r.traffic != nil {
		if err := r.traffic.Settle(ctx, time.Now()); err != nil {
			return fmt.Errorf("checkpoint %s: %w", s.Name, err)
		}
	}
	skip := r.shortLeaseKeys()
	var ops []workload.Op
	for _, op := range r.ledger().Ops() {
		if !skip[op.Key] {
			ops = append(ops, op)
		}
	}
	check := verify.NewStream(ops, ks.Rev, time.Time{})
	err = ks.Each(ctx, func(key string, kv verify.KV) error {
		if skip[key] {
			return nil
		}
		return check.Add(key, kv)
	}, nil)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.Name, err)
	}
	res := check.Done()
	bad := append(append(res.LostBeforeFault, res.Partial...), res.Findings...)
	cp := report.Checkpoint{
		Stage: s.Name, Revision: ks.Rev, Expected: res.Expected, Held: res.Restored, Lost: res.Lost, Resurrected: res.Resurrected,
		RevisionMismatch: res.RevisionMismatch, Indeterminate: res.Indeterminate, Seconds: time.Since(start).Seconds(),
		Passed: res.OK() && res.RevisionMismatch == 0 && len(bad) == 0,
	}
	r.rep.AddCheckpoint(cp)
	if cp.Passed {
		return nil
	}
	for i, f := range bad {
		if i == maxFindings {
			break
		}
		r.rep.Findings = append(r.rep.Findings, report.Finding(f))
	}
	what := res.Summary()
	if len(bad) > 0 {
		what += fmt.Sprintf("; first %s %s: want %s, got %s", bad[0].Kind, bad[0].Key, bad[0].Want, bad[0].Got)
	}
	return fmt.Errorf("%s: at %s (revision %d): %s", FindingCheckpoint, s.Name, ks.Rev, what)
}

// stageWrites has n more writes acknowledged: by the running writers, or,
// with phased traffic, written now.
func (r *runner) stageWrites(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	if r.traffic != nil {
		from := r.traffic.Acked(workload.Old)
		return r.traffic.WaitAcked(ctx, workload.Old, from+n)
	}
	_, err := r.write(ctx, "stage", n)
	return err
}

// shortLeaseKeys are the keys of the lease kept alive only until the fault.
func (r *runner) shortLeaseKeys() map[string]bool {
	out := map[string]bool{}
	if r.leases == nil {
		return out
	}
	all := r.leases.All()
	for _, k := range all[len(all)-1].Keys {
		out[k] = true
	}
	return out
}

// upgradeRefused records a member that did not come up on a version of the
// path as an upgrade finding, with etcd's own evidence, and keeps the run
// dir for a post-mortem. On a path the catalogue declares unsupported,
// etcd's refusal (that, or its refusal of a downgrade) is what the drill
// expects: it is recorded as such and nil returned, and the members still
// up are then checked. Any other error is returned as it is.
func (r *runner) upgradeRefused(err error) error {
	if err == nil || r.rep.Upgrade == nil {
		return err
	}
	var md *faults.MemberDown
	down := errors.As(err, &md)
	seen := map[string]bool{}
	if down {
		seen[md.Member] = true
		r.addUpgradeFinding(faults.FindingMemberDown, md.Member, md.Version, md.Stage, md.Err.Error())
	}
	// A member that came up on its new version, then panicked (a later
	// entry it could not apply), is as much a finding.
	for _, m := range r.cluster.Members() {
		select {
		case <-m.Exited():
		default:
			continue
		}
		if x := m.ExitStatus(); x.Panic != "" && !seen[m.Name()] {
			seen[m.Name()] = true
			spec, _ := r.cluster.Spec(m.Name())
			r.addUpgradeFinding(FindingMemberPanicked, m.Name(), spec.Version, "", x.Panic)
		}
	}
	// etcd refused the path: a member did not come up, or came up and
	// then panicked (it may have answered a read first: the checkpoint
	// after it then finds no member), or it refused the downgrade.
	refused := len(seen) > 0 || strings.HasPrefix(err.Error(), faults.FindingDowngradeRefused)
	if !refused || r.rep.Upgrade.Unsupported == "" {
		return err
	}
	r.rep.Upgrade.RefusedAsDeclared = true
	r.refused = true
	r.rep.Note(fmt.Sprintf("etcd refused a path declared unsupported, as the catalogue says it does (%v): the members still up are checked", err))
	return nil
}

// FindingMemberPanicked: a member came up on a new version, then panicked.
const FindingMemberPanicked = "member-panicked"

// addUpgradeFinding records a member that did not stay up on version, with
// its evidence: its panic and caller, else its log's last fatal or error
// line, else what the harness saw (why), its log and data dir (kept).
func (r *runner) addUpgradeFinding(name, member, version, stage, why string) {
	f := report.UpgradeFinding{Name: name, Member: member, Version: version, Stage: strings.TrimSuffix(stage, ": "),
		From: r.memberWasOn(version), Message: why, Replay: ReplayCommand(r.sc, r.o)}
	for _, m := range r.cluster.Members() {
		if m.Name() != member {
			continue
		}
		f.Log = m.LogPath()
		select {
		case <-m.Exited():
			if x := m.ExitStatus(); x.Panic != "" {
				f.Message, f.Caller = x.Panic, x.PanicCaller
			} else if line, ok := logs.LastSevere(m.LogPath()); ok {
				f.Message = line
			}
		default:
		}
	}
	if spec, ok := r.cluster.Spec(member); ok {
		f.DataDir = spec.DataDir
	}
	r.rep.Upgrade.Findings = append(r.rep.Upgrade.Findings, f)
	r.keepEvidence = true
}

// memberWasOn is what a member moved to version to ran before: the version
// before it on the path.
func (r *runner) memberWasOn(to string) string {
	path := r.d.Path
	for i, h := range path {
		switch {
		case h.Version != to:
		case i > 0:
			return path[i-1].Version
		case r.sc.Upgrade == UpgradeDown && len(path) > 1:
			// Back up after a downgrade.
			return path[1].Version
		default:
			// Never moved.
			return to
		}
	}
	return ""
}

// verifySurvivors, after etcd refused a declared unsupported path, rolls
// every member that went down back to the version it ran before, on its
// own data dir, as its operator would, and checks that the cluster holds
// every acknowledged write. A member that cannot go back is a failure even
// on that path: the refusal cost more than the upgrade.
func (r *runner) verifySurvivors(ctx context.Context) (string, error) {
	c := r.cluster
	var back []string
	for _, m := range c.Members() {
		select {
		case <-m.Exited():
		default:
			continue
		}
		spec, _ := c.Spec(m.Name())
		was := r.memberWasOn(spec.Version)
		if _, err := c.RestartOn(ctx, m.Name(), was); err != nil {
			return "", fmt.Errorf("roll %s back to %s: %w", m.Name(), was, err)
		}
		back = append(back, m.Name()+" to "+was)
	}
	if len(back) > 0 {
		hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.WaitHealthy(hctx)
		cancel()
		if err != nil {
			return "", fmt.Errorf("%s: after rolling back %s: %w", FindingRollbackFailed, strings.Join(back, ", "), err)
		}
		r.rep.Note("operator's workaround applied: the members that went down rolled back to the version they ran before, on their data dirs: " + strings.Join(back, ", "))
	}
	if err := r.checkpoint(ctx, faults.Stage{Name: "after etcd refused: every member back up"}); err != nil {
		return "", err
	}
	cps := r.rep.Upgrade.Checkpoints
	cp := cps[len(cps)-1]
	return fmt.Sprintf("rolled back: %s; every acknowledged write held: %d keys expected at revision %d, %d held", orNone(back), cp.Expected, cp.Revision, cp.Held), nil
}

// FindingRollbackFailed: after etcd refused an upgrade, a member that went
// down did not come back up on the version it ran before.
const FindingRollbackFailed = "rollback-failed"

func orNone(s []string) string {
	if len(s) == 0 {
		return "none went down"
	}
	return strings.Join(s, ", ")
}
