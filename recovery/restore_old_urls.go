package recovery

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// RestoreOnOldURLs restores every member from the snapshot into fresh data
// dirs, each slot re-using the name, client URL and peer URL of the old
// member in that place, as an operator restoring onto the same hosts does.
// With OldToken it also re-uses the OLD initial-cluster token, against the
// recovery guide: the restored cluster is then the old logical cluster again
// (what watch.OldClusterID looks for). Fresh slots get a new name (r<i>) and
// new ports instead: the first old member's slot with FreshFirst, so that
// it can come back on its old URLs beside the restored cluster (what
// watch.ClusterIDMismatch watches).
type RestoreOnOldURLs struct {
	OldToken bool
	Fresh    FreshSlots
}

// FreshSlots says which slots of a restore on old URLs get new URLs.
type FreshSlots int

const (
	FreshNone FreshSlots = iota
	FreshFirst
	FreshAll
)

func (r RestoreOnOldURLs) Name() string {
	if r.OldToken {
		return "restore-old-token"
	}
	return "restore-on-old-urls"
}

func (RestoreOnOldURLs) NeedsSnapshot() bool { return true }

func (r RestoreOnOldURLs) Recover(ctx context.Context, env Env) (Outcome, error) {
	if env.Snapshot.Path == "" {
		return Outcome{}, fmt.Errorf("%s: the drill took no snapshot", r.Name())
	}
	if r.Fresh == FreshFirst && env.Size < 2 {
		return Outcome{}, errors.New("a restore keeping the first slot fresh needs at least 2 members, one to restore on its old URLs and one to come back")
	}
	if err := env.stopAndRelease(ctx); err != nil {
		return Outcome{}, err
	}
	d := env.Drill
	token := d.Token + "-restored"
	if r.OldToken {
		token = d.Token
	}
	specs, err := env.onOldURLs("restored", token, r.Fresh)
	if err != nil {
		return Outcome{}, err
	}
	c, err := env.restoreAndStart(ctx, specs, "restored cluster")
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Cluster: c, HashChecked: true}, nil
}

// restoreAndStart restores every member of specs from the drill's snapshot
// (its hash checked, its revision kept) and starts them; what names the
// cluster in the error of a start that fails.
func (env Env) restoreAndStart(ctx context.Context, specs []backend.MemberSpec, what string) (*harness.Cluster, error) {
	if err := RestoreAll(ctx, env.Drill, env.Snapshot.Path, specs, false, 0); err != nil {
		return nil, err
	}
	c, err := env.Drill.StartMembers(ctx, specs)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", what, err)
	}
	return c, nil
}

// releaseTimeout bounds the wait for a dead member to let go of its data
// dir and ports.
const releaseTimeout = 30 * time.Second

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
// place, with a fresh data dir and log, but for the fresh slots.
func (env Env) onOldURLs(dir, token string, fresh FreshSlots) ([]backend.MemberSpec, error) {
	old := env.Old.Members()
	specs, err := env.Drill.Plan(harness.Layout{Prefix: RestoredPrefix, Dir: dir, Token: token, Size: len(old)})
	if err != nil {
		return nil, err
	}
	ic := make([]string, len(specs))
	for i, m := range old {
		if fresh == FreshAll || fresh == FreshFirst && i == 0 {
			ic[i] = specs[i].Name + "=" + specs[i].PeerURL
			continue
		}
		was, ok := env.Old.Spec(m.Name())
		if !ok {
			return nil, fmt.Errorf("no spec of old member %s", m.Name())
		}
		folder := filepath.Dir(specs[i].DataDir)
		specs[i].Name, specs[i].ClientURL, specs[i].PeerURL, specs[i].ListenPeerURL = was.Name, was.ClientURL, was.PeerURL, ""
		specs[i].DataDir = filepath.Join(folder, was.Name+".etcd")
		specs[i].LogPath = filepath.Join(folder, was.Name+".log")
		ic[i] = specs[i].Name + "=" + specs[i].PeerURL
	}
	for i := range specs {
		specs[i].InitialCluster = strings.Join(ic, ",")
	}
	return specs, nil
}
