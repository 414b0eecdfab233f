package recovery

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// Hazards these recoveries look for, by the name a report lists them under.
const (
	// HazardOldClusterID: a restore with the old token on the old peer URLs
	// made the old logical cluster again.
	HazardOldClusterID = "old-cluster-id"
	// HazardOldMemberMismatch: an old member started against the restored
	// cluster, which rejected it for a cluster ID mismatch.
	HazardOldMemberMismatch = "old-member-cluster-id-mismatch"
	// HazardForceNewWhileAlive: --force-new-cluster on one member while the
	// others of its cluster still ran.
	HazardForceNewWhileAlive = "force-new-cluster-while-alive"
)

// releaseTimeout bounds the wait for a dead member to let go of its data
// dir and ports.
const releaseTimeout = 30 * time.Second

// RestoreOldToken restores every member from the live snapshot into fresh
// data dirs but, against the recovery guide, with the OLD initial-cluster
// token and each old member's name, client URL and peer URL. etcd derives
// member IDs from the peer URLs and the token, and the cluster ID from the
// member IDs: the restored cluster is the old logical cluster again. The
// recovery reads the old cluster ID from an old member's WAL, and records the
// hazard HazardOldClusterID when the restored cluster has it; when it does
// not, the hazard this drill is about did not show, and Recover fails.
type RestoreOldToken struct {
	// NewToken restores with a new token instead (still on the old URLs):
	// the guide's way, which must NOT show the hazard; for tests of the check.
	NewToken bool
}

func (RestoreOldToken) Name() string { return "restore-old-token" }

func (RestoreOldToken) NeedsSnapshot() bool { return true }

func (r RestoreOldToken) Recover(ctx context.Context, env Env) (Outcome, error) {
	if env.Snapshot.Path == "" {
		return Outcome{}, errors.New("restore-old-token: the drill took no snapshot")
	}
	if err := env.stopAndRelease(ctx); err != nil {
		return Outcome{}, err
	}
	old, err := walIdentities(env.Old)
	if err != nil {
		return Outcome{}, err
	}
	oldID, err := old.clusterID()
	if err != nil {
		return Outcome{}, err
	}
	d := env.Drill
	token := d.Token
	if r.NewToken {
		token = d.Token + "-restored"
	}
	specs, err := env.onOldURLs("restored", token, nil)
	if err != nil {
		return Outcome{}, err
	}
	if err := RestoreAll(d, env.Snapshot.Path, specs, false, 0); err != nil {
		return Outcome{}, err
	}
	c, err := d.StartMembers(ctx, specs)
	if err != nil {
		return Outcome{}, fmt.Errorf("start restored cluster: %w", err)
	}
	cli, err := c.Client()
	if err != nil {
		return Outcome{}, err
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := cli.MemberList(lctx)
	cancel()
	if err != nil {
		return Outcome{}, fmt.Errorf("member list of the restored cluster: %w", err)
	}
	newID := resp.Header.ClusterId
	sameIDs := 0
	for _, m := range resp.Members {
		if id, ok := old[m.Name]; ok && id.member == m.ID {
			sameIDs++
		}
	}
	if newID != oldID {
		return Outcome{}, fmt.Errorf("restore-old-token: restored with token %q on the old peer URLs, the cluster ID is %016x, not the old %016x: hazard %s not found",
			token, newID, oldID, HazardOldClusterID)
	}
	return Outcome{Cluster: c, HashChecked: true, Hazards: []Hazard{{Name: HazardOldClusterID, Detail: fmt.Sprintf(
		"restored with the OLD initial-cluster-token %q on the old peer URLs, the new cluster has the old cluster ID %016x "+
			"(read from the old members' WALs), and %d of %d members have their old member IDs: it is the old logical cluster again. "+
			"etcd tells a peer of another cluster apart only by its cluster ID, so an old member started by mistake on its old data dir "+
			"would meet no cluster ID mismatch (the rejection hazard/old-member-rejoins shows after a restore with a new token): "+
			"its member ID is in the restored membership, so it would be taken for that member, old log and all; restore with a new token",
		token, newID, sameIDs, len(resp.Members))}}}, nil
}

// OldMemberRejoins restores a new cluster the guide's way, with a NEW token,
// but on the old members' URLs (names, client and peer URLs re-used, fresh
// data dirs), as an operator restoring onto the same hosts does. Then one old
// member, the straggler, is started again on its old data dir with its old
// flags, as a host that comes back after the restore would. Its slot in the
// restored cluster went to a member on new URLs, so nothing else holds its
// ports. etcd must reject it: the restored members answer its raft traffic
// with a cluster ID mismatch. The recovery polls the logs for that mismatch,
// records it as HazardOldMemberMismatch, then kills the straggler; the drill
// then verifies that the restored data is untouched. When no mismatch shows
// within Wait, Recover fails.
//
// The straggler is kept in the drill's old cluster, never in the returned
// one: it is not a member of the recovered cluster.
type OldMemberRejoins struct {
	// FreshURLs restores on new URLs instead: the straggler then reaches no
	// restored member and no mismatch can show; for tests of the check.
	FreshURLs bool
	// Wait bounds the wait for the mismatch in the logs (default 5 s).
	Wait time.Duration
}

func (OldMemberRejoins) Name() string { return "old-member-rejoins" }

func (OldMemberRejoins) NeedsSnapshot() bool { return true }

// Log messages of etcd 3.7.3 (rafthttp) about a cluster ID mismatch: the
// receiving member's, and the sender's (stream and pipeline).
const (
	msgRequestMismatch = "request cluster ID mismatch"
	msgIgnoredMismatch = "cluster ID mismatch"
)

func (r OldMemberRejoins) Recover(ctx context.Context, env Env) (Outcome, error) {
	d := env.Drill
	if env.Snapshot.Path == "" {
		return Outcome{}, errors.New("old-member-rejoins: the drill took no snapshot")
	}
	if env.Size < 2 {
		return Outcome{}, errors.New("old-member-rejoins: needs at least 2 members, one to restore on its old URLs and one to come back")
	}
	if err := env.stopAndRelease(ctx); err != nil {
		return Outcome{}, err
	}
	straggler := env.Old.Members()[0].Name()
	fresh := map[string]bool{straggler: true}
	if r.FreshURLs {
		for _, m := range env.Old.Members() {
			fresh[m.Name()] = true
		}
	}
	specs, err := env.onOldURLs("restored", d.Token+"-restored", fresh)
	if err != nil {
		return Outcome{}, err
	}
	if err := RestoreAll(d, env.Snapshot.Path, specs, false, 0); err != nil {
		return Outcome{}, err
	}
	c, err := d.StartMembers(ctx, specs)
	if err != nil {
		return Outcome{}, fmt.Errorf("start restored cluster: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	newID, err := c.ClusterID(cctx)
	cancel()
	if err != nil {
		return Outcome{}, err
	}
	oldSpec, ok := env.Old.Spec(straggler)
	if !ok {
		return Outcome{}, fmt.Errorf("old-member-rejoins: no spec of old member %s", straggler)
	}
	// The straggler appends to its old log: only what it writes from now on counts.
	logs := []logCursor{{member: straggler, path: oldSpec.LogPath, offset: fileSize(oldSpec.LogPath), straggler: true}}
	for _, m := range c.Members() {
		logs = append(logs, logCursor{member: m.Name(), path: m.LogPath(), offset: fileSize(m.LogPath())})
	}
	started := time.Now()
	m, err := env.Old.Restart(ctx, straggler)
	if err != nil {
		return Outcome{}, fmt.Errorf("start old member %s on its old data dir: %w", straggler, err)
	}
	found, err := waitMismatch(ctx, logs, orDefault(r.Wait, 5*time.Second))
	after := time.Since(started)
	fate := "still running"
	select {
	case <-m.Exited():
		fate = describeExit(m.ExitStatus())
	default:
	}
	// The straggler has no place in the recovered cluster: end it.
	if kerr := m.Kill(); kerr != nil {
		err = errors.Join(err, fmt.Errorf("kill old member %s: %w", straggler, kerr))
	}
	wctx, wcancel := context.WithTimeout(ctx, releaseTimeout)
	if werr := m.Wait(wctx); werr != nil {
		err = errors.Join(err, werr)
	}
	wcancel()
	if err != nil {
		return Outcome{}, err
	}
	var rejectedBy, senderSaw []string
	for _, f := range found {
		if f.straggler {
			senderSaw = append(senderSaw, fmt.Sprintf("%q (local cluster %s, remote %s)", f.msg, f.local, f.remote))
		} else {
			rejectedBy = append(rejectedBy, fmt.Sprintf("%s (%q: its cluster %s, the request's %s)", f.member, f.msg, f.local, f.remote))
		}
	}
	if len(rejectedBy) == 0 {
		where := "on the old URLs"
		if r.FreshURLs {
			where = "on new URLs"
		}
		return Outcome{}, fmt.Errorf("old-member-rejoins: old member %s (restored cluster %s, %016x) ran %s and no restored member logged %q: hazard %s not found",
			straggler, where, newID, after.Round(time.Millisecond), msgRequestMismatch, HazardOldMemberMismatch)
	}
	detail := fmt.Sprintf("old member %s started again on its old data dir and old URLs after the restore (new token, cluster %016x, on the old URLs): "+
		"rejected for a cluster ID mismatch by %s", straggler, newID, strings.Join(rejectedBy, ", "))
	if len(senderSaw) > 0 {
		detail += "; it logged " + strings.Join(senderSaw, ", ")
	}
	// It must not be in the restored membership, under its old member ID.
	id, err := readWALIdentity(walDir(m))
	if err != nil {
		return Outcome{}, fmt.Errorf("read the WAL of old member %s: %w", straggler, err)
	}
	cli, err := c.Client()
	if err != nil {
		return Outcome{}, err
	}
	lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
	list, err := cli.MemberList(lctx)
	lcancel()
	if err != nil {
		return Outcome{}, fmt.Errorf("member list of the restored cluster: %w", err)
	}
	for _, mm := range list.Members {
		if mm.ID == id.member {
			return Outcome{}, fmt.Errorf("old-member-rejoins: old member %s (%x) is in the restored cluster's membership", straggler, id.member)
		}
	}
	detail += fmt.Sprintf("; within %s it was %s, then killed; its member ID %x is not in the restored membership (%d members)",
		after.Round(time.Millisecond), fate, id.member, len(list.Members))
	if err := c.WaitHealthy(ctx); err != nil {
		return Outcome{}, fmt.Errorf("restored cluster after the old member: %w", err)
	}
	return Outcome{Cluster: c, HashChecked: true, Hazards: []Hazard{{Name: HazardOldMemberMismatch, Detail: detail}}}, nil
}

// stopAndRelease kills what is left of the old cluster and waits until every
// old member has let go of its data dir and ports.
func (env Env) stopAndRelease(ctx context.Context) error {
	env.stopOld()
	wctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	for _, m := range env.Old.AllMembers() {
		if err := m.Wait(wctx); err != nil {
			return err
		}
	}
	return nil
}

// onOldURLs lays out a restored cluster under RunDir/dir with token, each
// slot re-using the name, client URL and peer URL of the old member in that
// place, with a fresh data dir and log. The members named in fresh get a new
// name (r<i>) and new ports instead.
func (env Env) onOldURLs(dir, token string, fresh map[string]bool) ([]backend.MemberSpec, error) {
	old := env.Old.Members()
	specs, err := env.Drill.Layout(RestoredPrefix, dir, token, len(old))
	if err != nil {
		return nil, err
	}
	ic := make([]string, len(specs))
	for i, m := range old {
		if !fresh[m.Name()] {
			was, ok := env.Old.Spec(m.Name())
			if !ok {
				return nil, fmt.Errorf("no spec of old member %s", m.Name())
			}
			folder := filepath.Dir(specs[i].DataDir)
			specs[i].Name, specs[i].ClientURL, specs[i].PeerURL, specs[i].ListenPeerURL = was.Name, was.ClientURL, was.PeerURL, ""
			specs[i].DataDir = filepath.Join(folder, was.Name+".etcd")
			specs[i].LogPath = filepath.Join(folder, was.Name+".log")
		}
		ic[i] = specs[i].Name + "=" + specs[i].PeerURL
	}
	for i := range specs {
		specs[i].InitialCluster = strings.Join(ic, ",")
	}
	return specs, nil
}

// walIdentity is what a member's WAL says it is.
type walIdentity struct{ member, cluster uint64 }

type identities map[string]walIdentity

// walIdentities reads the member and cluster IDs from the WAL of every old
// member whose WAL is still there; at least one must be.
func walIdentities(c *harness.Cluster) (identities, error) {
	out := identities{}
	for _, m := range c.Members() {
		dir := walDir(m)
		if !wal.Exist(dir) {
			continue // a data dir the fault destroyed
		}
		id, err := readWALIdentity(dir)
		if err != nil {
			return nil, fmt.Errorf("read the WAL of old member %s: %w", m.Name(), err)
		}
		out[m.Name()] = id
	}
	if len(out) == 0 {
		return nil, errors.New("no old member has a WAL left to read the old cluster ID from")
	}
	return out, nil
}

// clusterID is the one cluster ID every WAL names.
func (ids identities) clusterID() (uint64, error) {
	seen := map[uint64][]string{}
	for name, id := range ids {
		seen[id.cluster] = append(seen[id.cluster], name)
	}
	if len(seen) != 1 {
		return 0, fmt.Errorf("the old members' WALs name %d cluster IDs, want one: %v", len(seen), seen)
	}
	for id := range seen {
		return id, nil
	}
	return 0, errors.New("unreachable")
}

// readWALIdentity reads the metadata record a WAL starts with (etcd's
// etcdserverpb.Metadata: member ID and cluster ID), read-only.
func readWALIdentity(dir string) (walIdentity, error) {
	w, err := wal.OpenForRead(zap.NewNop(), dir, &walpb.Snapshot{})
	if err != nil {
		return walIdentity{}, err
	}
	defer w.Close()
	md, _, _, err := w.ReadAll()
	if len(md) == 0 {
		if err == nil {
			err = errors.New("no metadata record")
		}
		return walIdentity{}, err
	}
	var meta etcdserverpb.Metadata
	if err := proto.Unmarshal(md, &meta); err != nil {
		return walIdentity{}, fmt.Errorf("decode WAL metadata: %w", err)
	}
	return walIdentity{member: meta.GetNodeID(), cluster: meta.GetClusterID()}, nil
}

func walDir(m backend.Member) string { return filepath.Join(m.DataDir(), "member", "wal") }

// logCursor is a member log read from an offset on.
type logCursor struct {
	member string
	path   string
	offset int64
	// straggler: the old member's own log (the sender's side).
	straggler bool
}

// mismatch is one cluster ID mismatch a member logged.
type mismatch struct {
	member    string
	straggler bool
	msg       string
	local     string
	remote    string
}

// waitMismatch polls the logs until a restored member has logged that it
// rejected a request for its cluster ID and the straggler has logged that it
// was ignored, or until wait ends. It returns the first mismatch of each log.
func waitMismatch(ctx context.Context, logs []logCursor, wait time.Duration) ([]mismatch, error) {
	deadline := time.Now().Add(wait)
	found := map[string]mismatch{} // by log path
	for {
		receiver, sender := false, false
		for _, l := range logs {
			if _, ok := found[l.path]; !ok {
				m, ok, err := scanMismatch(l)
				if err != nil {
					return nil, err
				}
				if ok {
					found[l.path] = m
				}
			}
			if _, ok := found[l.path]; ok {
				sender = sender || l.straggler
				receiver = receiver || !l.straggler
			}
		}
		if receiver && sender || !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	out := make([]mismatch, 0, len(found))
	for _, m := range found {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].member < out[j].member })
	return out, nil
}

// scanMismatch finds the first cluster ID mismatch in a log from its offset.
func scanMismatch(l logCursor) (mismatch, bool, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return mismatch{}, false, nil
	}
	if err != nil {
		return mismatch{}, false, fmt.Errorf("read log of %s: %w", l.member, err)
	}
	defer f.Close()
	if _, err := f.Seek(l.offset, io.SeekStart); err != nil {
		return mismatch{}, false, fmt.Errorf("read log of %s: %w", l.member, err)
	}
	want := msgIgnoredMismatch
	if !l.straggler {
		want = msgRequestMismatch
	}
	br := bufio.NewReader(f)
	for {
		line, rerr := br.ReadString('\n')
		// A line still being written has no newline yet: leave it for the next poll.
		if rerr == nil && strings.Contains(line, want) {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil {
				msg, _ := e["msg"].(string)
				if strings.Contains(msg, want) {
					return mismatch{
						member: l.member, straggler: l.straggler, msg: msg,
						local: str(e["local-member-cluster-id"]), remote: str(e["remote-peer-cluster-id"]),
					}, true, nil
				}
			}
		}
		if rerr != nil {
			return mismatch{}, false, nil
		}
	}
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return "?"
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func describeExit(x backend.Exit) string {
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
