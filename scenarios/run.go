package scenarios

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/backend/embedded"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/logs"
	"github.com/etcd-drill/etcd-drill/harness/report"
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
	if p := o.upgradePath(sc); len(p) > 0 {
		// The cluster starts on the path's first version.
		o.Path, o.EtcdVersion, o.UpgradeTo = p, p[0], p[len(p)-1]
	}
	if err := CheckEnvironment(ctx, o); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	sc, err := withRecovery(sc, o)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	r, err := newRunner(ctx, sc, o)
	if err != nil {
		return nil, err
	}
	runErr := r.watched(ctx)
	if runErr != nil {
		r.rep.Fail("%v", runErr)
	}
	r.assess()
	r.finish(ctx)
	return r.rep, runErr
}

// newRunner opens the backend and makes the run directory.
func newRunner(ctx context.Context, sc Scenario, o Options) (*runner, error) {
	run := runID()
	be, err := NewBackend(ctx, o, run)
	if err != nil {
		// Input was valid (Validate said so): the machine failed (an image
		// build, a network), not the user.
		return nil, fmt.Errorf("set up the %s backend: %w", orEmbedded(o.Backend), err)
	}
	rep := report.New(sc.Name, be.Name(), o.Members, o.Seed)
	rep.RunID = run
	rep.Replay = ReplayCommand(sc, o)
	rep.Description = sc.Description
	rep.EtcdVersion = be.EtcdVersion()
	d, err := harness.NewDrill(o.BaseDir, be, o.Members)
	if err != nil {
		be.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	d.Timing, d.NoFsync, d.MaxLogBytes = o.Timing, o.NoFsync, o.MaxLogBytes
	if o.Auth && o.Credentials != nil {
		d.Auth = o.Credentials
	} else if o.Auth {
		if d.Auth, err = harness.NewAuth(o.Workload.Prefix); err != nil {
			d.Close(context.WithoutCancel(ctx), false)
			be.Close(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	// Peer proxies where the backend cannot cut its members' network itself.
	_, native := be.(backend.Partitioner)
	d.PeerProxies = needs(sc).Partition && !native
	rep.RunDir, rep.Kept = d.RunDir, o.Keep
	if linked := embedded.New().EtcdVersion(); be.EtcdVersion() != linked {
		// Validate let --etcd-version through only for a backend running
		// binaries: their version's own tools handle the snapshots.
		b, err := bins.FindVersion(o.BinDir, o.EtcdVersion)
		if err != nil {
			d.Close(context.WithoutCancel(ctx), false)
			be.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		d.Tools = &b
		rep.Note(fmt.Sprintf("etcd %s: snapshots saved by its etcdctl and restored by its etcdutl (%s), not by the %s libraries linked in", be.EtcdVersion(), b.Dir, linked))
	}
	for _, v := range o.Path {
		b, err := bins.FindVersion(o.BinDir, v)
		if err == nil {
			v, err = b.Version()
		}
		if err != nil {
			d.Close(context.WithoutCancel(ctx), false)
			be.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		d.Path = append(d.Path, harness.Hop{Version: v, Bins: b})
	}
	d.HopWrites = o.HopWrites
	if len(d.Path) > 0 {
		rep.Upgrade = &report.Upgrade{Checkpoints: []report.Checkpoint{}}
		for _, h := range d.Path {
			rep.Upgrade.Path = append(rep.Upgrade.Path, h.Version)
		}
		kind := PathUpgrade
		if sc.Upgrade == UpgradeDown {
			kind = PathDowngrade
		}
		declared := o.Incompatibilities
		if declared == nil {
			declared = Incompatibilities()
		}
		for i := 1; i < len(d.Path); i++ {
			if in, ok := DeclaredPath(declared, kind, d.Path[i-1].Version, d.Path[i].Version); ok {
				rep.Upgrade.Unsupported = fmt.Sprintf("%s %s -> %s: %s (%s)", kind, in.From, in.To, in.Reason, in.Ref)
			}
		}
	}
	if sc.Phased != "" && o.continuous() {
		o.Traffic = TrafficPhased
		rep.Note("writes in phases, not through the fault: " + sc.Phased)
	}
	return &runner{sc: sc, o: o, d: d, rep: rep}, nil
}

// watched runs the pipeline within the drill's deadline, stopping it if the
// work dir runs short of space.
func (r *runner) watched(ctx context.Context) error {
	budget := r.o.DrillDeadline()
	dctx, cancel := context.WithTimeoutCause(ctx, budget, &DeadlineError{Drill: true, Budget: budget})
	defer cancel()
	wctx, stopWatch := context.WithCancelCause(dctx)
	watching := make(chan struct{})
	go func() { defer close(watching); r.o.watchDisk(wctx, r.d.RunDir, stopWatch) }()
	err := r.pipeline(wctx)
	var low *DiskLowError
	if errors.As(context.Cause(wctx), &low) {
		err = fmt.Errorf("%w (in the %s)", low, r.lastStep())
	}
	stopWatch(nil)
	<-watching
	return err
}

// assess records what the steps do not: the ledger's counts, panics, etcd's
// incidents.
func (r *runner) assess() {
	if r.workload != nil {
		counts := r.workload.Ledger().Count()
		r.rep.Keys.Acknowledged, r.rep.Keys.Failed = counts.Acknowledged, counts.Failed
		r.rep.Workload.LedgerBytesPerWrite = r.workload.Ledger().BytesPerWrite()
		r.rep.Rate = rateOf(r.workload.Ledger().Ops(), r.rep.Started, time.Now())
	}
	r.collectMembers()
	r.checkPanics()
	r.collectIncidents()
}

// finish cleans up, keeping the run directory where it is evidence, and
// closes the report.
func (r *runner) finish(ctx context.Context) {
	d, rep := r.d, r.rep
	// A failed runbook keeps its run directory: its output is the evidence;
	// so does a drill that passed a deadline: its member logs are.
	keep := r.o.Keep || rep.Deadline != nil || r.flooded || r.nonLinear || r.keepEvidence
	if rb, ok := r.sc.Recovery.(recovery.Runbook); ok {
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
	if err := r.waitAbandoned(); err != nil {
		rep.Fail("%v", err)
	}
	rep.Kept = keep
	if !keep {
		rep.RunDir, rep.Snapshot.Path, rep.RunbookLogs = "", "", nil // removed with the run directory
	}
	rep.Finish()
	if keep {
		// The evidence of a kept run: its report, its timeline picture and
		// its page (etcd-drill report re-renders them).
		if err := rep.WriteFile(d.RunDir + "/report.json"); err != nil {
			rep.Fail("%v", err)
			rep.Finish()
		}
		if err := os.WriteFile(d.RunDir+"/timeline.svg", rep.TimelineSVG(), 0o644); err != nil {
			rep.Note("the timeline picture was not written: " + err.Error())
		}
	}
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
	// oldLastRev is the old cluster's revision just before the fault.
	oldLastRev int64
	// What the steps did, in the order they run: the cluster under test and
	// its workload, the backup, the fault's effect, the recovery's outcome.
	cluster  *harness.Cluster
	workload *workload.Workload
	snapshot harness.Snapshot
	effect   harness.Effect
	outcome  recovery.Outcome
	// before is each member's state just before the fault.
	before map[string]harness.MemberState
	// leases is the leased part of the workload; expiryLedgered: the short
	// lease's expiry is in the ledger.
	leases         *workload.Leases
	expiryLedgered bool
	// traffic is the writers running on their own (continuous traffic),
	// from the first writes until the recovered cluster has its share.
	traffic *workload.Traffic
	// recoverStart is when the recovery began; newID is the recovered
	// cluster's ID.
	recoverStart time.Time
	newID        uint64
	// switched is when the writers were moved to the recovered cluster.
	switched time.Time
	// abandoned are steps that did not return after their deadline.
	abandoned []abandoned
	// flooded: a member flooded its log (kept as evidence).
	flooded bool
	// nonLinear: the history is not linearizable (its view is evidence).
	nonLinear bool
	// keepEvidence: a member did not come up on a new version (its data
	// dir is evidence); refused: on a path declared unsupported, as
	// expected.
	keepEvidence bool
	refused      bool
}

// step runs one stage within its deadline, times it and records it. A stage
// that passed its deadline fails with what it was waiting for and the member
// logs to read; one that does not even return then is left behind (see
// waitAbandoned) so that the cleanup can run.
func (r *runner) step(ctx context.Context, name string, f func(ctx context.Context) (string, error)) error {
	if r.o.OnStepStart != nil {
		r.o.OnStepStart(name)
	}
	start := time.Now()
	sctx, cancel := r.o.stepContext(ctx, name)
	defer cancel()
	type result struct {
		detail string
		err    error
	}
	done := make(chan result, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		detail, err := f(sctx)
		done <- result{detail, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-sctx.Done():
		select {
		case res = <-done:
		case <-time.After(abandonAfter):
			res.err = fmt.Errorf("did not return %v after it was told to stop: %w", abandonAfter, context.Cause(sctx))
			r.abandoned = append(r.abandoned, abandoned{name, finished})
		}
	}
	if de := deadlineOf(sctx, name); de != nil && res.err != nil {
		res.err = r.deadlinePassed(ctx, de, res.err)
	}
	s := report.Step{Name: name, Start: start.Sub(r.rep.Started).Seconds(), Seconds: time.Since(start).Seconds(), Detail: res.detail}
	err := res.err
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

// abandoned is a step that did not return after its deadline.
// lastStep names the last step that ran.
func (r *runner) lastStep() string {
	if n := len(r.rep.Steps); n > 0 {
		return "step " + r.rep.Steps[n-1].Name
	}
	return "first step"
}

type abandoned struct {
	step     string
	finished <-chan struct{}
}

// stage is one step of the pipeline.
type stage struct {
	name string
	f    func(ctx context.Context) (string, error)
}

func (r *runner) pipeline(ctx context.Context) error {
	o, sc := r.o, r.sc
	defer r.stopTraffic()
	defer func() {
		if r.leases != nil {
			r.leases.StopKeepAlive()
		}
	}()
	steps := []stage{
		{"start-cluster", r.startCluster},
	}
	if o.Auth {
		steps = append(steps, stage{"enable-auth", r.enableAuth})
	}
	steps = append(steps, []stage{
		{"workload", func(ctx context.Context) (string, error) { return r.write(ctx, "workload", o.Keys) }},
		// The drill's context: the short lease is kept alive until the fault.
		{"leases", func(context.Context) (string, error) { return r.grantLeases(ctx) }},
	}...)
	if o.continuous() {
		// The drill's context, not the step's: the writers outlive it.
		steps = append(steps, stage{"start-traffic", func(context.Context) (string, error) { return r.startTraffic(ctx) }})
	}
	if o.Compact {
		steps = append(steps, stage{"compact", r.compact})
	}
	if sc.backup() == BackupLive {
		steps = append(steps, stage{"snapshot", r.takeSnapshot})
	}
	after := stage{"workload-after-snapshot", func(ctx context.Context) (string, error) {
		detail, err := r.write(ctx, "workload-after-snapshot", o.writesAfter())
		return detail + r.revokeAfterBackup(ctx), err
	}}
	if o.continuous() {
		after.f = func(ctx context.Context) (string, error) {
			detail, err := r.trafficAfterSnapshot(ctx, o.writesAfter())
			return detail + r.revokeAfterBackup(ctx), err
		}
	}
	steps = append(steps, after,
		stage{"fault", r.inject},
		stage{"confirm-fault", r.confirm},
	)
	if sc.backup() == BackupCopiedDB {
		steps = append(steps, stage{"copy-db", r.copyDB})
	}
	steps = append(steps, r.actStages(sc.Then)...)
	steps = append(steps, stage{"recover", r.recover})
	if err := r.run(ctx, steps); err != nil {
		return err
	}
	if r.refused {
		// etcd refused a path declared unsupported: nothing was upgraded
		// to recover or verify as such, but the members still up must
		// hold every acknowledged write.
		r.stopTraffic()
		return r.run(ctx, []stage{{"verify-survivors", r.verifySurvivors}})
	}
	if r.outcome.Cluster == nil {
		// The recovery refused its backup, as the scenario wants: nothing
		// to write to or verify.
		r.stopTraffic()
		return r.run(ctx, []stage{{"check-history", r.checkHistory}})
	}
	var rest []stage
	if o.continuous() {
		// The writers move on, and stop, before any act on the recovered
		// cluster: what it holds then is what verify reads.
		rest = append(rest, stage{"recovered-traffic", r.recoveredTraffic})
		rest = append(rest, r.actStages(sc.After)...)
	} else {
		rest = append(append(rest, r.actStages(sc.After)...), stage{"first-write", r.firstWrite})
	}
	// The short lease's TTL runs out during verify: check-leases then waits
	// only for what is left of it.
	rest = append(rest, stage{"verify", r.verify}, stage{"check-leases", r.checkLeases})
	if o.Auth {
		rest = append(rest, stage{"check-auth", r.checkAuth})
	}
	rest = append(rest, stage{"check-history", r.checkHistory})
	return r.run(ctx, rest)
}

// run runs stages in order until one fails or ctx ends.
func (r *runner) run(ctx context.Context, stages []stage) error {
	for _, s := range stages {
		if err := r.step(ctx, s.name, s.f); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted after step %s: %w", s.name, err)
		}
		if r.refused {
			return nil
		}
	}
	return nil
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
					r.rep.Panics = append(r.rep.Panics, report.Panic{Member: m.Name(), Message: x.Panic, Caller: x.PanicCaller,
						Log: m.LogPath(), Excerpt: logs.PanicExcerpt(m.LogPath(), 8, 12)})
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

// runID names a drill in the names and labels of what it makes outside its
// run directory (containers, networks).
func runID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
