package recovery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// ForceNewWhileAlive restarts the member the fault killed (a follower) with
// --force-new-cluster on its data dir while the other members of its cluster
// still run, which etcd's recovery guide strongly discourages. It then
// watches both sides for Window, each through its own client: which members
// exit or panic, whether each side still takes writes, whether a write on
// one side shows on the other, and whether the forced member's keyspace is
// the acknowledged history up to its revision. Everything seen is recorded
// as the hazard HazardForceNewWhileAlive (and notes); when nothing went
// wrong (every member alive, each side seeing the other's writes) the hazard
// did not show, and Recover fails.
//
// The recovered cluster is then the old majority, which held every
// acknowledged write: the forced member is killed, old members that shut
// down are started again on their data dirs, and the forced member is
// removed and replaced by a new one. The drill then checks that no
// acknowledged write was lost from the old majority's disks.
type ForceNewWhileAlive struct {
	// Plain restarts the member WITHOUT --force-new-cluster instead: it
	// rejoins its cluster and nothing goes wrong; for tests of the check.
	Plain bool
	// Window is how long the two sides are watched (default 6 election
	// timeouts, at least 1.5 s).
	Window time.Duration
}

func (ForceNewWhileAlive) Name() string { return "force-new-cluster-while-alive" }

func (ForceNewWhileAlive) NeedsSnapshot() bool { return false }

// side is one side of a force-new-cluster: the forced member, or the old
// members it left behind.
type side struct {
	name    string
	cluster *harness.Cluster
	members []backend.Member
	// key is where this side's probe writes go.
	key string
	// acked and refused count the probe writes; last is the value of the
	// last acknowledged one, lastOK whether the last attempt was taken.
	acked, refused int
	last           string
	lastOK         bool
	// final: the side took a write when the window was over (see settle).
	final bool
}

func (s *side) alive() []backend.Member {
	var out []backend.Member
	for _, m := range s.members {
		select {
		case <-m.Exited():
		default:
			out = append(out, m)
		}
	}
	return out
}

// healthy: every member of the side runs and it took the final write.
func (s *side) healthy() bool { return len(s.alive()) == len(s.members) && s.final }

// settle retries a final write through the side for up to wait: a single
// slow write at the end of the window must not count the side out.
func (s *side) settle(ctx context.Context, wait, attempt time.Duration) {
	end := time.Now().Add(wait)
	for len(s.alive()) > 0 && time.Now().Before(end) && ctx.Err() == nil {
		s.put(ctx, "final", attempt)
		if s.lastOK {
			s.final = true
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(attempt / 2):
		}
	}
}

// put writes the side's probe key with value through its own live members.
func (s *side) put(ctx context.Context, value string, attempt time.Duration) {
	live := s.alive()
	if len(live) == 0 {
		s.refused++
		s.lastOK = false
		return
	}
	cli, err := s.cluster.Client(live...)
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, attempt)
		_, err = cli.Put(actx, s.key, value)
		cancel()
	}
	if err != nil {
		s.refused++
		s.lastOK = false
		return
	}
	s.acked++
	s.last, s.lastOK = value, true
}

// read reads key through the side's own live members: its value, or why not.
func (s *side) read(ctx context.Context, key string, attempt time.Duration) (string, bool, error) {
	live := s.alive()
	if len(live) == 0 {
		return "", false, errors.New("no member left")
	}
	cli, err := s.cluster.Client(live...)
	if err != nil {
		return "", false, err
	}
	actx, cancel := context.WithTimeout(ctx, attempt)
	defer cancel()
	resp, err := cli.Get(actx, key)
	if err != nil {
		return "", false, err
	}
	if len(resp.Kvs) == 0 {
		return "", false, nil
	}
	return string(resp.Kvs[0].Value), true, nil
}

func (r ForceNewWhileAlive) Recover(ctx context.Context, env Env) (Outcome, error) {
	c, d := env.Old, env.Drill
	dead := env.dead()
	if len(dead) != 1 {
		return Outcome{}, fmt.Errorf("force-new-cluster-while-alive: one member must be down, %d are", len(dead))
	}
	downed := dead[0]
	name := downed.Name()
	var out Outcome
	wctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	err := downed.Wait(wctx)
	cancel()
	if err != nil {
		return Outcome{}, err
	}
	others := c.Live()
	if len(others) == 0 {
		return Outcome{}, errors.New("force-new-cluster-while-alive: no other member is alive: this is no hazard drill")
	}
	spec, ok := c.Spec(name)
	if !ok {
		return Outcome{}, fmt.Errorf("force-new-cluster-while-alive: no spec of %s", name)
	}
	spec.ForceNewCluster = !r.Plain
	how := "with --force-new-cluster"
	if r.Plain {
		how = "without --force-new-cluster"
	}
	offsets := map[string]int64{spec.LogPath: fileSize(spec.LogPath)}
	for _, o := range others {
		offsets[o.LogPath()] = fileSize(o.LogPath())
	}
	// Started by hand, not through StartMembers: a member that dies at once
	// is an observation here, and must stay tracked for its exit and panic.
	m, err := d.Backend.Start(ctx, spec)
	if err != nil {
		return Outcome{}, fmt.Errorf("restart %s %s: %w", name, how, err)
	}
	forced := harness.Adopt(d.Backend, []backend.MemberSpec{spec}, []backend.Member{m})
	d.Track(forced)
	started := time.Now()

	timing := c.Timing()
	window := orDefault(r.Window, max(6*timing.Election, 1500*time.Millisecond))
	attempt := max(5*timing.Heartbeat, 100*time.Millisecond)
	a := &side{name: name + " (" + how + ")", cluster: forced, members: []backend.Member{m}, key: harness.ProbePrefix + "hazard/forced"}
	b := &side{name: strings.Join(harness.Names(others), ", ") + " (the old majority)", cluster: c, members: others, key: harness.ProbePrefix + "hazard/old"}

	// The forced member's revision when it first answers is what it kept;
	// it takes no probe write before that. The old side is written to
	// from the start.
	keptRev, keptAt := int64(0), time.Duration(0)
	probeKept := func() error {
		cli, err := forced.Client(m)
		if err != nil {
			return err
		}
		gctx, gcancel := context.WithTimeout(ctx, attempt)
		defer gcancel()
		if resp, err := cli.Get(gctx, harness.ProbePrefix+"revision"); err == nil {
			keptRev, keptAt = resp.Header.Revision, time.Since(started)
		}
		return ctx.Err()
	}
	end := started.Add(window)
	for i := 0; time.Now().Before(end); i++ {
		b.put(ctx, fmt.Sprintf("old-%d", i), attempt)
		switch {
		case keptRev > 0:
			a.put(ctx, fmt.Sprintf("forced-%d", i), attempt)
		case len(a.alive()) == 1:
			if err := probeKept(); err != nil {
				return Outcome{}, err
			}
		}
		select {
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		case <-time.After(4 * timing.Heartbeat):
		}
	}

	// The forced member may not serve clients yet: its first attempt to
	// publish itself can go to the old leader, and etcd retries only after
	// its request timeout (5 s and two election timeouts). Give it that.
	readyBy := started.Add(5*time.Second + 2*timing.Election + time.Second)
	for keptRev == 0 && len(a.alive()) == 1 && time.Now().Before(readyBy) {
		if err := probeKept(); err != nil {
			return Outcome{}, err
		}
		if keptRev == 0 {
			select {
			case <-ctx.Done():
				return Outcome{}, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	// A side counts as healthy if it takes a write once the window is over.
	if keptRev > 0 {
		a.settle(ctx, 2*time.Second, attempt)
	}
	b.settle(ctx, 2*time.Second, attempt)

	// What each side sees of the other's last write: a side that took a
	// write the other does not see has diverged from it.
	diverged := false
	seen := func(from, of *side) string {
		if of.last == "" {
			return fmt.Sprintf("%s took no write to be seen", of.name)
		}
		v, ok, err := from.read(ctx, of.key, attempt)
		switch {
		case err != nil:
			return fmt.Sprintf("%s's last write could not be read through %s (%v)", of.name, from.name, err)
		case !ok || v != of.last:
			diverged = true
			got := "nothing"
			if ok {
				got = fmt.Sprintf("%q", v)
			}
			return fmt.Sprintf("%s does NOT see %s's last write %q (it has %s)", from.name, of.name, of.last, got)
		}
		return fmt.Sprintf("%s sees %s's last write", from.name, of.name)
	}
	aSeesB, bSeesA := seen(a, b), seen(b, a)

	// How each member fared. A panic is told apart from other exits.
	var panicked, oldExited, fates []string
	forcedExited := ""
	for _, mm := range append([]backend.Member{m}, others...) {
		select {
		case <-mm.Exited():
		default:
			fates = append(fates, mm.Name()+" still running")
			continue
		}
		x := mm.ExitStatus()
		after := x.At.Sub(started).Round(time.Millisecond)
		if x.Panic != "" {
			p := fmt.Sprintf("%s %s after the restart: %s", mm.Name(), after, x.Panic)
			if x.PanicCaller != "" {
				p += " (at " + x.PanicCaller + ")"
			}
			panicked = append(panicked, p)
			fates = append(fates, mm.Name()+" panicked "+after.String()+" after the restart")
			continue
		}
		why := describeExit(x)
		if msg := complaint(mm.LogPath(), offsets[mm.LogPath()]); msg != "" {
			why += ", its log: " + msg
		}
		fate := fmt.Sprintf("%s %s, %s after the restart", mm.Name(), why, after)
		fates = append(fates, fate)
		if mm == m {
			forcedExited = fate
		} else {
			oldExited = append(oldExited, fate)
		}
	}
	sideLine := func(s *side) string {
		last := "a final write taken"
		if !s.final {
			last = "no final write taken within 2s"
		}
		return fmt.Sprintf("%s: %d probe writes acknowledged, %d refused, %s", s.name, s.acked, s.refused, last)
	}
	came := "never answered"
	if keptRev > 0 {
		came = fmt.Sprintf("answered %s after the restart at revision %d", keptAt.Round(time.Millisecond), keptRev)
		if cli, err := forced.Client(m); len(a.alive()) == 1 && err == nil {
			lctx, lcancel := context.WithTimeout(ctx, attempt)
			if resp, err := cli.MemberList(lctx); err == nil {
				came += fmt.Sprintf(", cluster %016x with %d member(s)", resp.Header.ClusterId, len(resp.Members))
			}
			lcancel()
		}
	}
	out.Notes = append(out.Notes, fmt.Sprintf("%s: %s restarted on its data dir %s while %s ran; it %s", r.Name(), name, how, strings.Join(harness.Names(others), ", "), came))
	out.Notes = append(out.Notes, fmt.Sprintf("%s: after %s: %s", r.Name(), window, strings.Join(fates, "; ")))
	out.Notes = append(out.Notes, fmt.Sprintf("%s: %s; %s", r.Name(), sideLine(a), sideLine(b)))
	out.Notes = append(out.Notes, fmt.Sprintf("%s: %s; %s", r.Name(), aSeesB, bSeesA))

	splitBrain := a.acked > 0 && b.acked > 0 && diverged
	if len(panicked) == 0 && len(oldExited) == 0 && forcedExited == "" && !diverged {
		return Outcome{}, fmt.Errorf("force-new-cluster-while-alive: %s restarted %s while %s ran, and nothing went wrong within %s "+
			"(every member still running; %s; %s; %s; %s): hazard %s not found",
			name, how, strings.Join(harness.Names(others), ", "), window, sideLine(a), sideLine(b), aSeesB, bSeesA, HazardForceNewWhileAlive)
	}
	verdict := []string{fmt.Sprintf("%s restarted %s while %s still ran and held quorum", name, how, strings.Join(harness.Names(others), ", "))}
	if len(panicked) > 0 {
		verdict = append(verdict, "PANICKED: "+strings.Join(panicked, "; "))
	} else {
		verdict = append(verdict, "no member panicked")
	}
	if b.healthy() {
		verdict = append(verdict, fmt.Sprintf("the old majority kept quorum (%d probe writes taken)", b.acked))
	}
	if len(oldExited) > 0 {
		verdict = append(verdict, "the old members shut down: "+strings.Join(oldExited, "; "))
	}
	if !b.healthy() && b.acked > 0 {
		has := "the forced member does not have its last one"
		if strings.HasPrefix(aSeesB, a.name+" sees") {
			has = "the forced member has its last one"
		}
		verdict = append(verdict, fmt.Sprintf("the old majority acknowledged %d probe writes before it went (%s)", b.acked, has))
	}
	if forcedExited != "" {
		verdict = append(verdict, "the forced member did not last: "+forcedExited)
	}
	if splitBrain {
		verdict = append(verdict, "SPLIT BRAIN: both sides acknowledged writes under the same cluster ID, and one lacks the other's")
	} else if diverged {
		verdict = append(verdict, "the two sides disagree on what was written")
	}
	if keptRev > 0 && len(a.alive()) == 1 && env.Ledger != nil {
		alone := ""
		if !b.healthy() {
			alone = " went on alone under the same cluster ID and"
		}
		line, err := forcedData(ctx, forced, m, env.Ledger, keptRev)
		if err != nil {
			line = "its keyspace could not be read: " + err.Error()
		}
		verdict = append(verdict, fmt.Sprintf("%s%s, serving clients %s after the restart, %s", name, alone, keptAt.Round(time.Millisecond), line))
		if other := followedOther(spec.LogPath, offsets[spec.LogPath]); other != "" {
			verdict = append(verdict, fmt.Sprintf("after the restart %s first followed the old leader %s", name, other))
		}
	}
	// The observation is over: end the forced member, and compare its raft
	// log with that of an old member that has exited.
	if err := m.Kill(); err != nil {
		return Outcome{}, fmt.Errorf("kill forced member %s: %w", name, err)
	}
	if err := m.Wait(ctx); err != nil {
		return Outcome{}, err
	}
	for _, o := range others {
		select {
		case <-o.Exited():
		default:
			continue
		}
		line, err := walSplice(walDir(m), walDir(o), o.Name())
		if err != nil {
			line = fmt.Sprintf("the raft logs of %s and %s could not be compared: %v", name, o.Name(), err)
		}
		if line != "" {
			verdict = append(verdict, line)
		}
		break
	}
	out.Hazards = append(out.Hazards, Hazard{Name: HazardForceNewWhileAlive, Detail: strings.Join(verdict, "; ")})

	// Recover the old majority, which held every acknowledged write: start
	// again on their data dirs the old members that shut down (etcd told
	// them to remove their data dirs; they are intact), and replace the
	// forced member with a new one.
	var restarted []string
	for _, o := range others {
		select {
		case <-o.Exited():
		default:
			continue
		}
		if p := o.ExitStatus().Panic; p != "" {
			return Outcome{}, fmt.Errorf("force-new-cluster-while-alive: old member %s panicked (%s): the old majority cannot be started again", o.Name(), p)
		}
		if _, err := c.Restart(ctx, o.Name()); err != nil {
			return Outcome{}, fmt.Errorf("start old member %s again: %w", o.Name(), err)
		}
		restarted = append(restarted, o.Name())
	}
	hctx, hcancel := context.WithTimeout(ctx, 30*time.Second)
	err = c.WaitHealthy(hctx)
	hcancel()
	if err != nil {
		return Outcome{}, fmt.Errorf("the old majority %s after the force-new-cluster: %w", strings.Join(harness.Names(others), ", "), err)
	}
	if err := c.Remove(ctx, name); err != nil {
		return Outcome{}, err
	}
	if err := grow(ctx, d, c, ReplacementPrefix, 1, 1, true); err != nil {
		return Outcome{}, err
	}
	out.Cluster = c
	out.Baseline = Baseline{Revision: harness.AllWrites, Why: "every acknowledged write (the old majority's data dirs, the forced member replaced)"}
	kept := "kept running"
	if len(restarted) > 0 {
		kept = "started again on their data dirs: " + strings.Join(restarted, ", ")
	}
	out.Notes = append(out.Notes, fmt.Sprintf("recovered: the old majority (%s), %s killed, removed and replaced by a new member", kept, name))
	return out, nil
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

// followedOther returns the first leader other than the member itself that
// its log says it followed from offset on ("elected leader X at term T").
func followedOther(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	br := bufio.NewReader(f)
	for {
		line, rerr := br.ReadString('\n')
		var e struct {
			Msg string `json:"msg"`
		}
		if strings.Contains(line, "elected leader") && json.Unmarshal([]byte(line), &e) == nil {
			// "raft.node: <self> elected leader <leader> at term <t>"
			var self, leader string
			var term uint64
			if _, err := fmt.Sscanf(e.Msg, "raft.node: %s elected leader %s at term %d", &self, &leader, &term); err == nil && self != leader {
				return fmt.Sprintf("%s (term %d)", leader, term)
			}
		}
		if rerr != nil {
			return ""
		}
	}
}

// complaint is why a member's log says it ended, from offset on: its panic
// or fatal message, else its "server error", else its last warning or error
// (each with its error field, if any).
func complaint(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	best, bestRank := "", 0
	br := bufio.NewReader(f)
	for {
		line, rerr := br.ReadString('\n')
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(line), &e) == nil {
			rank := 0
			switch {
			case e.Level == "panic" || e.Level == "fatal" || e.Level == "dpanic":
				rank = 3
			case e.Msg == "server error":
				rank = 2
			case e.Level == "warn" || e.Level == "error":
				rank = 1
			}
			// The first of the highest rank, but the last plain warning.
			if rank > bestRank || rank == 1 && bestRank == 1 {
				best, bestRank = e.Msg, rank
				if e.Error != "" {
					best += ": " + e.Error
				}
			}
		}
		if rerr != nil {
			return best
		}
	}
}

// readWALEntries reads every entry of a WAL, read-only.
func readWALEntries(dir string) ([]*raftpb.Entry, error) {
	w, err := wal.OpenForRead(zap.NewNop(), dir, &walpb.Snapshot{})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	_, _, ents, err := w.ReadAll()
	return ents, err
}

// walSplice compares the forced member's raft log with an old member's.
// Raft's log matching rests on this: two entries with the same index and
// term are the same entry, and so is everything before them. It says where
// the two logs hold different entries under the same index and term, and
// which entries of the old log the forced member then took after them; ""
// when there is no such place.
func walSplice(forcedDir, oldDir, oldName string) (string, error) {
	fe, err := readWALEntries(forcedDir)
	if err != nil {
		return "", err
	}
	oe, err := readWALEntries(oldDir)
	if err != nil {
		return "", err
	}
	old := make(map[uint64]*raftpb.Entry, len(oe))
	for _, e := range oe {
		old[e.GetIndex()] = e // a later entry at an index replaces an earlier one
	}
	var clash, took []string
	for _, e := range fe {
		o, ok := old[e.GetIndex()]
		if !ok || o.GetTerm() != e.GetTerm() {
			continue
		}
		same := o.GetType() == e.GetType() && bytes.Equal(o.Data, e.Data)
		switch {
		case !same:
			clash = append(clash, fmt.Sprintf("%d (term %d): %s here, %s in %s's", e.GetIndex(), e.GetTerm(), describeEntry(e), describeEntry(o), oldName))
		case len(clash) > 0:
			took = append(took, fmt.Sprintf("%d (%s)", e.GetIndex(), describeEntry(e)))
		}
	}
	if len(clash) == 0 {
		return "", nil
	}
	line := "RAFT LOG MATCHING BROKEN: --force-new-cluster wrote its membership entries in the old term, at indexes the old leader had used: " +
		strings.Join(clash, "; ")
	if len(took) > 5 {
		took = append(took[:5], fmt.Sprintf("and %d more", len(took)-5))
	}
	if len(took) > 0 {
		line += "; the forced member then took the old leader's entries after them, as if the logs matched: " + strings.Join(took, ", ")
	}
	return line, nil
}

// describeEntry says what a raft entry of etcd does, in a few words.
func describeEntry(e *raftpb.Entry) string {
	if e.GetType() != raftpb.EntryType_EntryNormal {
		return "a membership change"
	}
	if len(e.Data) == 0 {
		return "an empty entry"
	}
	var r etcdserverpb.InternalRaftRequest
	if err := proto.Unmarshal(e.Data, &r); err != nil {
		return "an undecodable entry"
	}
	switch {
	case r.Put != nil:
		return "put " + string(r.Put.Key)
	case r.DeleteRange != nil:
		return "delete " + string(r.DeleteRange.Key)
	case r.Txn != nil:
		return "a transaction"
	case r.ClusterMemberAttrSet != nil:
		return "member attributes"
	}
	return "a request"
}
