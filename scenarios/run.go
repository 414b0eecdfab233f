package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// ErrBadInput wraps every error of options or scenario that Run refuses
// before it creates anything.
var ErrBadInput = errors.New("bad input")

// cleanupTimeout bounds the cleanup after a drill, also after Ctrl-C.
const cleanupTimeout = 30 * time.Second

// Run executes sc: start a cluster, write, snapshot, write more, inject the
// fault, confirm it, recover, verify, clean up. The report is returned in
// every case but bad input; the error is the first step that could not be
// done (an assertion that fails is a report failure, not an error).
func Run(ctx context.Context, sc Scenario, o Options) (*report.Report, error) {
	if err := Validate(sc, o); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	sc, err := withRecovery(sc, o)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	be, err := NewBackend(o)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	rep := report.New(sc.Name, be.Name(), o.Members, o.Seed)
	rep.Description = sc.Description
	rep.EtcdVersion = be.EtcdVersion()
	d, err := harness.NewDrill(o.BaseDir, be, o.Members)
	if err != nil {
		be.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	d.Timing, d.NoFsync, d.Report = o.Timing, o.NoFsync, rep
	rep.RunDir, rep.Kept = d.RunDir, o.Keep

	r := &runner{sc: sc, o: o, d: d, rep: rep}
	runErr := r.pipeline(ctx)
	if runErr != nil {
		rep.Fail("%v", runErr)
	}
	if d.Workload != nil {
		counts := d.Workload.Ledger().Count()
		rep.Keys.Acknowledged, rep.Keys.Failed = counts.Acknowledged, counts.Failed
	}
	r.collectMembers()
	r.checkPanics()
	// A failed runbook keeps its run directory: its output is the evidence.
	keep := o.Keep
	if rb, ok := sc.Recovery.(recovery.Runbook); ok {
		for _, phase := range []string{"backup", "restore"} {
			if p := rb.LogPath(d, phase); fileExists(p) {
				rep.RunbookLogs = append(rep.RunbookLogs, p)
			}
		}
		if len(rep.Failures) > 0 {
			keep = true
		}
	}
	cleanErr := r.step(context.WithoutCancel(ctx), "cleanup", func(ctx context.Context) (string, error) {
		cctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
		defer cancel()
		if keep {
			return "kept " + d.RunDir, d.Close(cctx, true)
		}
		return "", d.Close(cctx, false)
	})
	if cleanErr != nil {
		rep.Fail("%v", cleanErr)
	}
	rep.Kept = keep
	if !keep {
		rep.RunDir, rep.Snapshot.Path, rep.RunbookLogs = "", "", nil // removed with the run directory
	}
	rep.Finish()
	if keep {
		if err := rep.WriteFile(d.RunDir + "/report.json"); err != nil {
			rep.Fail("%v", err)
			rep.Finish()
		}
	}
	return rep, runErr
}

type runner struct {
	sc  Scenario
	o   Options
	d   *harness.Drill
	rep *report.Report
	// oldID is the original cluster's ID.
	oldID uint64
	// confirmed is when the fault was confirmed in force.
	confirmed time.Time
}

// step runs one stage, times it and records it.
func (r *runner) step(ctx context.Context, name string, f func(ctx context.Context) (string, error)) error {
	start := time.Now()
	detail, err := f(ctx)
	s := report.Step{Name: name, Seconds: time.Since(start).Seconds(), Detail: detail}
	if err != nil {
		s.Error = err.Error()
		err = fmt.Errorf("step %s: %w", name, err)
	}
	r.rep.AddStep(s)
	if r.o.OnStep != nil {
		r.o.OnStep(s)
	}
	return err
}

func (r *runner) pipeline(ctx context.Context) error {
	o, sc := r.o, r.sc
	steps := []struct {
		name string
		f    func(ctx context.Context) (string, error)
	}{
		{"start-cluster", r.startCluster},
		{"workload", func(ctx context.Context) (string, error) { return r.write(ctx, "workload", o.Keys) }},
		{"snapshot", r.snapshot},
		{"workload-after-snapshot", func(ctx context.Context) (string, error) {
			return r.write(ctx, "workload-after-snapshot", o.writesAfter())
		}},
		{"fault", r.inject},
		{"confirm-fault", r.confirm},
		{"recover", r.recover},
		{"first-write", r.firstWrite},
		{"verify", r.verify},
	}
	for _, s := range steps {
		if s.name == "snapshot" && !sc.Recovery.NeedsSnapshot() {
			continue
		}
		if err := r.step(ctx, s.name, s.f); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted after step %s: %w", s.name, err)
		}
	}
	return nil
}

func (r *runner) startCluster(ctx context.Context) (string, error) {
	d := r.d
	c, err := d.StartCluster(ctx, d.Spec("m", "cluster", d.Token, d.Size))
	if err != nil {
		return "", err
	}
	d.Cluster = c
	if r.oldID, err = c.ClusterID(ctx); err != nil {
		return "", err
	}
	wcfg := r.o.Workload
	wcfg.Seed = r.o.Seed
	if d.Workload, err = workload.New(wcfg, workload.NewLedger()); err != nil {
		return "", err
	}
	r.rep.Workload.Concurrency, r.rep.Workload.ValueSize = wcfg.Concurrency, wcfg.ValueSize
	return fmt.Sprintf("%d members %s, cluster %016x", len(c.Members()), strings.Join(harness.Names(c.Members()), ","), r.oldID), nil
}

func (r *runner) write(ctx context.Context, phase string, n int) (string, error) {
	if n == 0 {
		return "no writes", nil
	}
	cli, err := r.d.Cluster.Client()
	if err != nil {
		return "", err
	}
	var progress func(int)
	if r.o.Progress != nil {
		progress = func(done int) { r.o.Progress(phase, done, n) }
	}
	st, err := r.d.Workload.Run(ctx, cli, n, progress)
	if phase == "workload" {
		r.rep.Workload.BeforeSnapshot = st.Total()
		r.rep.Workload.AckedPerSecond = st.PerSecond()
	} else {
		r.rep.Workload.AfterSnapshot = st.Total()
	}
	r.rep.Workload.Writes += st.Total()
	detail := fmt.Sprintf("%d writes: %d acknowledged, %d failed, %d indeterminate, %.0f acked/s",
		st.Total(), st.Acknowledged, st.Failed, st.Indeterminate, st.PerSecond())
	if err != nil {
		return detail, err
	}
	if st.Acknowledged == 0 {
		return detail, errors.New("no write was acknowledged: the cluster is not taking writes")
	}
	return detail, nil
}

func (r *runner) snapshot(ctx context.Context) (string, error) {
	d := r.d
	m, err := d.Cluster.Leader(ctx)
	if err != nil {
		live := d.Cluster.Live()
		if len(live) == 0 {
			return "", errors.New("no live member to take a snapshot from")
		}
		m = live[0]
	}
	var s harness.Snapshot
	if b, ok := r.sc.Recovery.(recovery.Backuper); ok {
		s, err = b.Backup(ctx, d, m)
	} else {
		s, err = recovery.SaveSnapshot(ctx, d, m)
	}
	if err != nil {
		return "", err
	}
	d.Snapshot = s
	r.rep.Snapshot = report.Snapshot{
		Path: s.Path, Member: s.Member, Revision: s.Revision, SizeBytes: s.Size, TotalKeys: s.Keys, Hash: s.Hash,
	}
	return fmt.Sprintf("revision %d, %d bytes, %d keys, from %s", s.Revision, s.Size, s.Keys, s.Member), nil
}

func (r *runner) inject(ctx context.Context) (string, error) {
	e, err := r.sc.Fault.Inject(ctx, r.d.Cluster)
	r.d.Effect = e
	r.rep.Fault = &report.Fault{Name: e.Fault, Members: e.Members, At: e.At, Detail: e.Detail}
	return e.Detail, err
}

func (r *runner) confirm(ctx context.Context) (string, error) {
	e := &r.d.Effect
	err := r.sc.Fault.Confirm(ctx, r.d.Cluster, e)
	r.confirmed = time.Now()
	r.rep.Fault.QuorumLost, r.rep.Fault.Detail = e.QuorumLost, e.Detail
	if err != nil {
		return e.Detail, err
	}
	if r.sc.Expect.QuorumLost && !e.QuorumLost {
		return e.Detail, errors.New("the fault did not break quorum")
	}
	return e.Detail, nil
}

func (r *runner) recover(ctx context.Context) (string, error) {
	c, err := r.sc.Recovery.Recover(ctx, r.d)
	if err != nil {
		return "", err
	}
	r.d.Recovered = c
	r.rep.Snapshot.HashChecked = r.d.Snapshot.HashChecked
	return fmt.Sprintf("%s: %d members %s healthy", r.sc.Recovery.Name(), len(c.Members()), strings.Join(harness.Names(c.Members()), ",")), nil
}

// firstWrite writes through the recovered cluster; its acknowledgement ends
// the recovery time.
func (r *runner) firstWrite(ctx context.Context) (string, error) {
	cli, err := r.d.Recovered.Client()
	if err != nil {
		return "", err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Put(wctx, harness.ProbePrefix+"after-recovery", "ok"); err != nil {
		return "", fmt.Errorf("the recovered cluster refused a write: %w", err)
	}
	rto := time.Since(r.d.Effect.At)
	r.rep.RTOSeconds = rto.Seconds()
	r.rep.RecoverySeconds = time.Since(r.confirmed).Seconds()
	return "RTO " + rto.Round(time.Millisecond).String(), nil
}

func (r *runner) verify(ctx context.Context) (string, error) {
	d, rep := r.d, r.rep
	c := d.Recovered
	cli, err := c.Client()
	if err != nil {
		return "", err
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	actual, rev, err := verify.ReadKeyspace(vctx, cli, r.o.Workload.Prefix)
	if err != nil {
		return "", err
	}
	ops := d.Workload.Ledger().Ops()
	res := verify.CheckAt(ops, d.Snapshot.Revision, actual)
	rep.Verified = true
	rep.Keys = report.Keys{
		Expected: res.Expected, Restored: res.Restored, Lost: res.Lost, Resurrected: res.Resurrected,
		Indeterminate: res.Indeterminate, Duplicates: res.Duplicates,
	}
	rep.RPO.WritesAfterSnapshot = d.Workload.Ledger().AckedAfter(d.Snapshot.Revision)
	for i, f := range res.Findings {
		if i == maxFindings {
			break
		}
		rep.Findings = append(rep.Findings, report.Finding(f))
	}
	if res.Lost > 0 {
		rep.Fail("%d acknowledged keys at or below revision %d lost", res.Lost, d.Snapshot.Revision)
	}
	if res.Resurrected > 0 {
		rep.Fail("%d keys resurrected that must be absent at revision %d", res.Resurrected, d.Snapshot.Revision)
	}

	hk, err := verify.HashKV(vctx, cli, harness.Endpoints(c.Members()), rev)
	if err != nil {
		return res.Summary(), err
	}
	newID, err := c.ClusterID(vctx)
	if err != nil {
		return res.Summary(), err
	}
	rep.Cluster = report.Cluster{
		OldID: strconv.FormatUint(r.oldID, 16), NewID: strconv.FormatUint(newID, 16),
		IDChanged: newID != r.oldID, HashKVConsistent: hk.Consistent, HashKVRevision: rev,
		Members: harness.Names(c.Members()),
	}
	if !hk.Consistent {
		rep.Fail("members disagree on HashKV at revision %d: %v", rev, hk.Hashes)
	}
	if r.sc.Expect.NewClusterID && newID == r.oldID {
		rep.Fail("the recovered cluster kept the old cluster ID %016x: it is not a new logical cluster", newID)
	}
	mresp, err := cli.MemberList(vctx)
	if err != nil {
		return res.Summary(), fmt.Errorf("member list of recovered cluster: %w", err)
	}
	if len(mresp.Members) != d.Size {
		rep.Fail("the recovered cluster has %d members, want %d", len(mresp.Members), d.Size)
	}
	return res.Summary() + fmt.Sprintf("; hashkv consistent=%v at revision %d", hk.Consistent, rev), nil
}

// maxFindings bounds the keys listed in a report.
const maxFindings = 50

// checkPanics asserts that every member the fault hit panicked as the
// scenario expects.
func (r *runner) checkPanics() {
	want := r.sc.Expect.PanicContains
	if want == "" || r.rep.Fault == nil {
		return
	}
	for _, name := range r.rep.Fault.Members {
		found := false
		for _, p := range r.rep.Panics {
			if p.Member == name && strings.Contains(p.Message, want) {
				found = true
			}
		}
		if !found {
			r.rep.Fail("member %s did not panic with %q", name, want)
		}
	}
}

// collectMembers lists the panics and URLs of every member of every cluster.
func (r *runner) collectMembers() {
	for _, c := range r.d.Clusters() {
		seen := map[string]bool{}
		for _, m := range c.AllMembers() {
			if !seen[m.Name()] {
				seen[m.Name()] = true
				r.rep.URLs = append(r.rep.URLs, m.ClientURL(), m.PeerURL())
			}
			select {
			case <-m.Exited():
				if x := m.ExitStatus(); x.Panic != "" {
					r.rep.Panics = append(r.rep.Panics, report.Panic{Member: m.Name(), Message: x.Panic, Caller: x.PanicCaller})
				}
			default:
			}
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
