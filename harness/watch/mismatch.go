package watch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/observe"
)

// ClusterIDMismatch watches an old member started again on its old data dir
// beside a restored cluster (faults.OldMemberReturns): etcd must reject it,
// the restored members answering its raft traffic with a cluster ID
// mismatch. It polls the logs for that mismatch (the restored members' and
// the old member's own) for up to Wait, ends the old member, and checks that
// its member ID is not in the restored membership. What it finds is the
// hazard HazardOldMemberMismatch; when no restored member logged the
// mismatch, the hazard did not show and Observe fails.
type ClusterIDMismatch struct {
	// Wait bounds the wait for the mismatch in the logs (default 5 s).
	Wait time.Duration
}

func (ClusterIDMismatch) Name() string { return "cluster-id-mismatch" }

// logCursor is a member log read from an offset on.
type logCursor struct {
	member string
	path   string
	offset int64
	// old: the old member's own log (the sender's side).
	old bool
}

// mismatch is one cluster ID mismatch a member logged.
type mismatch struct {
	observe.Mismatch
	member string
	old    bool
}

func (w ClusterIDMismatch) Observe(ctx context.Context, v View, e harness.Effect, end func(context.Context) error) (Observation, error) {
	c := v.Recovered
	if c == nil || len(e.Members) != 1 {
		return Observation{}, errors.New("cluster-id-mismatch: needs the recovered cluster and the one old member the fault started")
	}
	name := e.Members[0]
	m := v.Cluster.Member(name)
	if m == nil {
		return Observation{}, fmt.Errorf("cluster-id-mismatch: no old member %s", name)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	newID, err := c.ClusterID(cctx)
	cancel()
	if err != nil {
		return Observation{}, err
	}
	logs := []logCursor{{member: name, path: m.LogPath(), offset: v.Offset(m.LogPath()), old: true}}
	for _, r := range c.Members() {
		logs = append(logs, logCursor{member: r.Name(), path: r.LogPath(), offset: v.Offset(r.LogPath())})
	}
	found, err := waitMismatch(ctx, logs, orDefault(w.Wait, 5*time.Second))
	after := time.Since(e.At)
	fate := "still running"
	select {
	case <-m.Exited():
		fate = DescribeExit(m.ExitStatus())
	default:
	}
	// The old member has no place in the recovered cluster: end it.
	if eerr := end(ctx); eerr != nil {
		err = errors.Join(err, eerr)
	}
	if err != nil {
		return Observation{}, err
	}
	var rejectedBy, senderSaw []string
	for _, f := range found {
		if f.old {
			senderSaw = append(senderSaw, fmt.Sprintf("%q (local cluster %s, remote %s)", f.Msg, f.Local, f.Remote))
		} else {
			rejectedBy = append(rejectedBy, fmt.Sprintf("%s (%q: its cluster %s, the request's %s)", f.member, f.Msg, f.Local, f.Remote))
		}
	}
	if len(rejectedBy) == 0 {
		return Observation{}, fmt.Errorf("old-member-rejoins: old member %s (restored cluster %s, %016x) ran %s and no restored member logged %q: hazard %s not found",
			name, where(v.Cluster, c), newID, after.Round(time.Millisecond), observe.MsgRequestMismatch, HazardOldMemberMismatch)
	}
	detail := fmt.Sprintf("old member %s started again on its old data dir and old URLs after the restore (new token, cluster %016x, %s): "+
		"rejected for a cluster ID mismatch by %s", name, newID, where(v.Cluster, c), strings.Join(rejectedBy, ", "))
	if len(senderSaw) > 0 {
		detail += "; it logged " + strings.Join(senderSaw, ", ")
	}
	out, err := notInMembership(ctx, c, m)
	if err != nil {
		return Observation{}, err
	}
	detail += fmt.Sprintf("; within %s it was %s, then killed; %s", after.Round(time.Millisecond), fate, out)
	if err := c.WaitHealthy(ctx); err != nil {
		return Observation{}, fmt.Errorf("restored cluster after the old member: %w", err)
	}
	return Observation{Hazard: &harness.Hazard{Name: HazardOldMemberMismatch, Detail: detail}}, nil
}

// notInMembership checks that the old member's ID, read from its WAL, is not
// in the restored cluster's membership.
func notInMembership(ctx context.Context, c *harness.Cluster, m backend.Member) (string, error) {
	id, err := observe.WALIdentity(m.DataDir())
	if err != nil {
		return "", fmt.Errorf("read the WAL of old member %s: %w", m.Name(), err)
	}
	cli, err := c.Client()
	if err != nil {
		return "", err
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	list, err := cli.MemberList(lctx)
	cancel()
	if err != nil {
		return "", fmt.Errorf("member list of the restored cluster: %w", err)
	}
	for _, mm := range list.Members {
		if mm.ID == id.Member {
			return "", fmt.Errorf("old-member-rejoins: old member %s (%x) is in the restored cluster's membership", m.Name(), id.Member)
		}
	}
	return fmt.Sprintf("its member ID %x is not in the restored membership (%d members)", id.Member, len(list.Members)), nil
}

// where says whether the restored cluster re-uses the old members' URLs.
func where(old, restored *harness.Cluster) string {
	peers := map[string]bool{}
	for _, m := range old.AllMembers() {
		peers[m.PeerURL()] = true
	}
	for _, m := range restored.Members() {
		if peers[m.PeerURL()] {
			return "on the old URLs"
		}
	}
	return "on new URLs"
}

// waitMismatch polls the logs until a restored member has logged that it
// rejected a request for its cluster ID and the old member has logged that
// it was ignored, or until wait ends. It returns the first mismatch of each
// log.
func waitMismatch(ctx context.Context, logs []logCursor, wait time.Duration) ([]mismatch, error) {
	deadline := time.Now().Add(wait)
	found := map[string]mismatch{} // by log path
	for {
		receiver, sender := false, false
		for _, l := range logs {
			if _, ok := found[l.path]; !ok {
				want := observe.MsgRequestMismatch
				if l.old {
					want = observe.MsgIgnoredMismatch
				}
				m, ok, err := observe.FirstMismatch(l.path, l.offset, want)
				if err != nil {
					return nil, fmt.Errorf("read log of %s: %w", l.member, err)
				}
				if ok {
					found[l.path] = mismatch{Mismatch: m, member: l.member, old: l.old}
				}
			}
			if _, ok := found[l.path]; ok {
				sender = sender || l.old
				receiver = receiver || !l.old
			}
		}
		if receiver && sender || !time.Now().Before(deadline) {
			break
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
	}
	out := make([]mismatch, 0, len(found))
	for _, m := range found {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].member < out[j].member })
	return out, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
