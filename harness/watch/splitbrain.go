package watch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/observe"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// SplitBrain watches a member restarted with --force-new-cluster while the
// others of its cluster still run (faults.ForcedRestart), each side through
// its own client, for Window: which members exit or panic, whether each side
// still takes writes, whether a write on one side shows on the other,
// whether the forced member's keyspace is the acknowledged history up to its
// revision, and, once the forced member is ended, whether its raft log
// broke log matching with an old member's. Everything seen is the hazard
// HazardForceNewWhileAlive; when nothing went wrong (every member alive,
// each side seeing the other's writes) the hazard did not show, and Observe
// fails.
type SplitBrain struct {
	// Window is how long the two sides are watched (default 6 election
	// timeouts, at least 1.5 s).
	Window time.Duration
}

func (SplitBrain) Name() string { return "split-brain" }

// forcedRun is what was seen of the forced member: the revision it kept when
// it first answered, and when.
type forcedRun struct {
	m       backend.Member
	cluster *harness.Cluster
	how     string
	keptRev int64
	keptAt  time.Duration
}

func (w SplitBrain) Observe(ctx context.Context, v View, e harness.Effect, end func(context.Context) error) (Observation, error) {
	if e.Started == nil || len(e.Started.AllMembers()) != 1 {
		return Observation{}, errors.New("split-brain: the fault started no member to watch")
	}
	m := e.Started.AllMembers()[0]
	f := &forcedRun{m: m, cluster: e.Started, how: "without --force-new-cluster"}
	if spec, _ := e.Started.Spec(m.Name()); spec.ForceNewCluster {
		f.how = "with --force-new-cluster"
	}
	c := v.Cluster
	others := c.Live()
	timing := c.Timing()
	window := w.Window
	if window <= 0 {
		window = max(6*timing.Election, 1500*time.Millisecond)
	}
	attempt := max(5*timing.Heartbeat, 100*time.Millisecond)
	a := &side{name: m.Name() + " (" + f.how + ")", cluster: f.cluster, members: []backend.Member{m}, key: "hazard/forced"}
	b := &side{name: strings.Join(harness.Names(others), ", ") + " (the old majority)", cluster: c, members: others, key: "hazard/old"}
	if err := f.watch(ctx, a, b, e.At, window, attempt, timing); err != nil {
		return Observation{}, err
	}
	diverged := false
	aSeesB, bSeesA := sees(ctx, a, b, attempt, &diverged), sees(ctx, b, a, attempt, &diverged)
	fa := fatesOf(v, e.At, m, others)
	obs := Observation{Notes: []string{
		fmt.Sprintf("%s: %s restarted on its data dir %s while %s ran; it %s", HazardForceNewWhileAlive, m.Name(), f.how, strings.Join(harness.Names(others), ", "), f.came(ctx, a, attempt)),
		fmt.Sprintf("%s: after %s: %s", HazardForceNewWhileAlive, window, strings.Join(fa.lines, "; ")),
		fmt.Sprintf("%s: %s; %s", HazardForceNewWhileAlive, a.line(), b.line()),
		fmt.Sprintf("%s: %s; %s", HazardForceNewWhileAlive, aSeesB, bSeesA),
	}}
	if len(fa.panicked) == 0 && len(fa.oldExited) == 0 && fa.forcedExited == "" && !diverged {
		return obs, fmt.Errorf("force-new-cluster-while-alive: %s restarted %s while %s ran, and nothing went wrong within %s "+
			"(every member still running; %s; %s; %s; %s): hazard %s not found",
			m.Name(), f.how, strings.Join(harness.Names(others), ", "), window, a.line(), b.line(), aSeesB, bSeesA, HazardForceNewWhileAlive)
	}
	verdict := f.verdict(ctx, v, a, b, fa, others, diverged, aSeesB)
	// The observation is over: end the forced member, and compare its raft
	// log with that of an old member that has exited.
	if err := end(ctx); err != nil {
		return obs, fmt.Errorf("end forced member %s: %w", m.Name(), err)
	}
	if line := walSpliceWithExited(m, others); line != "" {
		verdict = append(verdict, line)
	}
	obs.Hazard = &harness.Hazard{Name: HazardForceNewWhileAlive, Detail: strings.Join(verdict, "; ")}
	return obs, nil
}

// watch writes to both sides for window, the forced side only once it has
// first answered (its revision then is what it kept), then waits for it to
// answer as long as its publish may take, and lets each side settle.
func (f *forcedRun) watch(ctx context.Context, a, b *side, started time.Time, window, attempt time.Duration, timing backend.Timing) error {
	probeKept := func() error {
		cli, err := f.cluster.Client(f.m)
		if err != nil {
			return err
		}
		gctx, cancel := context.WithTimeout(ctx, attempt)
		defer cancel()
		if resp, err := cli.Get(gctx, harness.ProbePrefix+"revision"); err == nil {
			f.keptRev, f.keptAt = resp.Header.Revision, time.Since(started)
		}
		return ctx.Err()
	}
	for i := 0; time.Now().Before(started.Add(window)); i++ {
		b.put(ctx, fmt.Sprintf("old-%d", i), attempt)
		switch {
		case f.keptRev > 0:
			a.put(ctx, fmt.Sprintf("forced-%d", i), attempt)
		case len(a.alive()) == 1:
			if err := probeKept(); err != nil {
				return err
			}
		}
		if err := pause(ctx, 4*timing.Heartbeat); err != nil {
			return err
		}
	}
	// The forced member may not serve clients yet: its first attempt to
	// publish itself can go to the old leader, and etcd retries only after
	// its request timeout (5 s and two election timeouts). Give it that.
	readyBy := started.Add(5*time.Second + 2*timing.Election + time.Second)
	for f.keptRev == 0 && len(a.alive()) == 1 && time.Now().Before(readyBy) {
		if err := probeKept(); err != nil {
			return err
		}
		if f.keptRev == 0 {
			if err := pause(ctx, 50*time.Millisecond); err != nil {
				return err
			}
		}
	}
	// A side counts as healthy if it takes a write once the window is over.
	if f.keptRev > 0 {
		a.settle(ctx, 2*time.Second, attempt)
	}
	b.settle(ctx, 2*time.Second, attempt)
	return nil
}

// came says how the forced member came back.
func (f *forcedRun) came(ctx context.Context, a *side, attempt time.Duration) string {
	if f.keptRev == 0 {
		return "never answered"
	}
	out := fmt.Sprintf("answered %s after the restart at revision %d", f.keptAt.Round(time.Millisecond), f.keptRev)
	if cli, err := f.cluster.Client(f.m); len(a.alive()) == 1 && err == nil {
		lctx, cancel := context.WithTimeout(ctx, attempt)
		if resp, err := cli.MemberList(lctx); err == nil {
			out += fmt.Sprintf(", cluster %016x with %d member(s)", resp.Header.ClusterId, len(resp.Members))
		}
		cancel()
	}
	return out
}

// fates is how each member fared, a panic told apart from other exits.
type fates struct {
	lines, panicked, oldExited []string
	forcedExited               string
}

func fatesOf(v View, started time.Time, forced backend.Member, others []backend.Member) fates {
	var fa fates
	for _, mm := range append([]backend.Member{forced}, others...) {
		select {
		case <-mm.Exited():
		default:
			fa.lines = append(fa.lines, mm.Name()+" still running")
			continue
		}
		x := mm.ExitStatus()
		after := x.At.Sub(started).Round(time.Millisecond)
		if x.Panic != "" {
			p := fmt.Sprintf("%s %s after the restart: %s", mm.Name(), after, x.Panic)
			if x.PanicCaller != "" {
				p += " (at " + x.PanicCaller + ")"
			}
			fa.panicked = append(fa.panicked, p)
			fa.lines = append(fa.lines, mm.Name()+" panicked "+after.String()+" after the restart")
			continue
		}
		why := DescribeExit(x)
		if msg := observe.Complaint(mm.LogPath(), v.Offset(mm.LogPath())); msg != "" {
			why += ", its log: " + msg
		}
		fate := fmt.Sprintf("%s %s, %s after the restart", mm.Name(), why, after)
		fa.lines = append(fa.lines, fate)
		if mm == forced {
			fa.forcedExited = fate
		} else {
			fa.oldExited = append(fa.oldExited, fate)
		}
	}
	return fa
}

// verdict says in order what went wrong.
func (f *forcedRun) verdict(ctx context.Context, v View, a, b *side, fa fates, others []backend.Member, diverged bool, aSeesB string) []string {
	name := f.m.Name()
	verdict := []string{fmt.Sprintf("%s restarted %s while %s still ran and held quorum", name, f.how, strings.Join(harness.Names(others), ", "))}
	if len(fa.panicked) > 0 {
		verdict = append(verdict, "PANICKED: "+strings.Join(fa.panicked, "; "))
	} else {
		verdict = append(verdict, "no member panicked")
	}
	if b.healthy() {
		verdict = append(verdict, fmt.Sprintf("the old majority kept quorum (%d probe writes taken)", b.acked))
	}
	if len(fa.oldExited) > 0 {
		verdict = append(verdict, "the old members shut down: "+strings.Join(fa.oldExited, "; "))
	}
	if !b.healthy() && b.acked > 0 {
		has := "the forced member does not have its last one"
		if strings.HasPrefix(aSeesB, a.name+" sees") {
			has = "the forced member has its last one"
		}
		verdict = append(verdict, fmt.Sprintf("the old majority acknowledged %d probe writes before it went (%s)", b.acked, has))
	}
	if fa.forcedExited != "" {
		verdict = append(verdict, "the forced member did not last: "+fa.forcedExited)
	}
	if a.acked > 0 && b.acked > 0 && diverged {
		verdict = append(verdict, "SPLIT BRAIN: both sides acknowledged writes under the same cluster ID, and one lacks the other's")
	} else if diverged {
		verdict = append(verdict, "the two sides disagree on what was written")
	}
	if f.keptRev > 0 && len(a.alive()) == 1 && v.Ledger != nil {
		alone := ""
		if !b.healthy() {
			alone = " went on alone under the same cluster ID and"
		}
		line, err := forcedData(ctx, f.cluster, f.m, v.Ledger, f.keptRev)
		if err != nil {
			line = "its keyspace could not be read: " + err.Error()
		}
		verdict = append(verdict, fmt.Sprintf("%s%s, serving clients %s after the restart, %s", name, alone, f.keptAt.Round(time.Millisecond), line))
		if other := observe.FollowedOther(f.m.LogPath(), v.Offset(f.m.LogPath())); other != "" {
			verdict = append(verdict, fmt.Sprintf("after the restart %s first followed the old leader %s", name, other))
		}
	}
	return verdict
}

// walSpliceWithExited compares the forced member's raft log with that of
// the first old member that has exited (a running one's is in use).
func walSpliceWithExited(forced backend.Member, others []backend.Member) string {
	for _, o := range others {
		select {
		case <-o.Exited():
		default:
			continue
		}
		line, err := observe.WALSplice(forced.DataDir(), o.DataDir(), o.Name())
		if err != nil {
			line = fmt.Sprintf("the raft logs of %s and %s could not be compared: %v", forced.Name(), o.Name(), err)
		}
		return line
	}
	return ""
}

// forcedData checks the forced member's keyspace against the ledger at the
// revision it came back with: a clean prefix of the acknowledged history
// (lacking only what was acknowledged after it), or not.
func forcedData(ctx context.Context, forced *harness.Cluster, m backend.Member, ledger *workload.Ledger, rev int64) (string, error) {
	cli, err := forced.Client(m)
	if err != nil {
		return "", err
	}
	ops := ledger.Ops()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	actual, _, err := verify.ReadKeyspace(rctx, cli, keyPrefix(ops))
	if err != nil {
		return "", err
	}
	res := verify.CheckAt(ops, rev, actual)
	after := ledger.AckedAfter(rev)
	if res.Lost == 0 {
		return fmt.Sprintf("holds every acknowledged write of the workload up to its revision %d and lacks the %d acknowledged after it", rev, after), nil
	}
	return fmt.Sprintf("DATA DIVERGED: it is at revision %d yet lacks %d acknowledged writes at or below it (and %d acknowledged after it): "+
		"its history is not the one the old cluster acknowledged", rev, res.Lost, after), nil
}

// keyPrefix is the longest prefix every workload key shares: the workload's
// own prefix, and a little more.
func keyPrefix(ops []workload.Op) string {
	if len(ops) == 0 {
		return workload.DefaultPrefix
	}
	p := ops[0].Key
	for _, op := range ops[1:] {
		for !strings.HasPrefix(op.Key, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// DescribeExit says in words how a member ended.
func DescribeExit(x backend.Exit) string {
	switch {
	case x.Panic != "":
		return "dead of a panic: " + x.Panic
	case x.Killed:
		return "killed"
	case x.Err != nil:
		return fmt.Sprintf("exited by itself (%v)", x.Err)
	default:
		return fmt.Sprintf("exited by itself (code %d)", x.Code)
	}
}

func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
