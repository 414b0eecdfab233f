package harness

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// Membership changes the membership of a running cluster as etcd's runtime
// reconfiguration says (MemberAdd, MemberAddAsLearner and MemberPromote,
// MemberRemove), retrying a change etcd refuses as unsafe for now, and keeps
// the cluster's list of members in step: a member that joins is started and
// added to it, one removed leaves it.
//
// It talks to the cluster through Cluster.Client (every live member) and
// holds no state of its own; the zero Membership has no cluster and must not
// be used.
type Membership struct{ c *Cluster }

// MembershipOf returns the membership changes of c. c must be non-nil.
func MembershipOf(c *Cluster) Membership { return Membership{c: c} }

// reconfigTimeout bounds the retries of a membership change etcd finds unsafe.
const reconfigTimeout = 30 * time.Second

// retryWhile runs change until it succeeds, fails with an error retryable
// does not accept, or reconfigTimeout passes; each try is bounded by 5 s.
func retryWhile(ctx context.Context, retryable func(error) bool, change func(ctx context.Context) error) error {
	deadline := time.Now().Add(reconfigTimeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := change(cctx)
		cancel()
		if err == nil || !retryable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// unhealthy: etcd refuses a membership change that a member not yet
// connected for 5 s would make unsafe (its strict reconfiguration check
// answers "unhealthy cluster"), as an operator finds and retries.
func unhealthy(err error) bool { return errors.Is(err, rpctypes.ErrUnhealthy) }

// retryUnhealthy runs a membership change until etcd takes it.
func retryUnhealthy(ctx context.Context, change func(ctx context.Context) error) error {
	return retryWhile(ctx, unhealthy, change)
}

// Join adds a member with an empty data dir to the running cluster, as etcd's
// runtime reconfiguration says: MemberAdd with its peer URL, then start it
// with --initial-cluster-state existing and the cluster as MemberAdd left it.
// It returns once the new member answers a linearizable read.
//
// A MemberAdd refused as unsafe ("unhealthy cluster", strict
// reconfiguration) is retried for up to 30 s. If the member then fails to
// start or to become healthy, the MemberAdd is taken back (MemberRemove) and
// the error returned says whether that worked; the started member, if any,
// stays in the cluster's list, for its exit.
func (ms Membership) Join(ctx context.Context, spec backend.MemberSpec) (backend.Member, error) {
	cli, resp, err := ms.memberAdd(ctx, spec, false)
	if err != nil {
		return nil, err
	}
	m, err := ms.startAdded(ctx, spec, resp)
	if err == nil {
		err = ms.c.waitMemberHealthy(ctx, m)
	}
	if err != nil {
		return nil, rollbackAdd(ctx, cli, resp.Member.ID, err)
	}
	return m, nil
}

// rollbackAdd takes back a MemberAdd whose member never joined, so that the
// cluster does not wait for it (a one-member seed would lose its quorum).
// It returns cause, wrapped with the MemberRemove's error if that failed.
func rollbackAdd(ctx context.Context, cli *clientv3.Client, id uint64, cause error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := cli.MemberRemove(rctx, id); err != nil {
		return fmt.Errorf("%w (and taking the add back: %v)", cause, err)
	}
	return cause
}

// JoinAsLearner adds a member as a learner (MemberAddAsLearner), starts it
// with an empty data dir and promotes it once it has caught up. A learner
// does not count for quorum, so a one-member cluster keeps its leader while
// the new member starts (after a plain MemberAdd, on etcd 3.7.3, the lone
// leader steps down and the new member's first read waits out 5 s). etcd
// allows one learner at a time.
//
// The MemberAddAsLearner is retried whatever its error, and the
// MemberPromote (refused until the learner has caught up) as long as the
// member runs, each for up to 30 s. If the member fails to start, the add is
// taken back (see Join); if it is not promoted or not healthy after, it stays
// a member and the error says so. It returns once the promoted member answers
// a linearizable read.
func (ms Membership) JoinAsLearner(ctx context.Context, spec backend.MemberSpec) (backend.Member, error) {
	cli, resp, err := ms.memberAdd(ctx, spec, true)
	if err != nil {
		return nil, err
	}
	m, err := ms.startAdded(ctx, spec, resp)
	if err != nil {
		return nil, rollbackAdd(ctx, cli, resp.Member.ID, err)
	}
	err = retryWhile(ctx, func(error) bool {
		select {
		case <-m.Exited():
			return false
		default:
			return true
		}
	}, func(ctx context.Context) error {
		_, err := cli.MemberPromote(ctx, resp.Member.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("promote learner %s: %w", spec.Name, err)
	}
	if err := ms.c.waitMemberHealthy(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// memberAdd adds spec's peer URL to the cluster's membership: as a learner
// (MemberAddAsLearner, retried whatever its error) or as a voting member
// (MemberAdd, retried while etcd refuses it as unsafe), each for up to 30 s.
// It returns the client it used, for the changes that follow, and etcd's
// answer.
func (ms Membership) memberAdd(ctx context.Context, spec backend.MemberSpec, learner bool) (*clientv3.Client, *clientv3.MemberAddResponse, error) {
	cli, err := ms.c.Client()
	if err != nil {
		return nil, nil, err
	}
	add, retryable, what := cli.MemberAdd, unhealthy, "member add "+spec.Name
	if learner {
		add, retryable, what = cli.MemberAddAsLearner, func(error) bool { return true }, what+" as learner"
	}
	var resp *clientv3.MemberAddResponse
	err = retryWhile(ctx, retryable, func(ctx context.Context) error {
		var err error
		resp, err = add(ctx, []string{spec.PeerURL})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	return cli, resp, nil
}

// waitKnown waits until every live member has applied the addition of id:
// a joining member asks one of them for the membership, and refuses to
// start if it lacks itself ("member count is unequal"), as a follower busy
// with writes may still do when MemberAdd returns.
func (ms Membership) waitKnown(ctx context.Context, id uint64) error {
	wctx, cancel := context.WithTimeout(ctx, reconfigTimeout)
	defer cancel()
	for _, m := range ms.c.Live() {
		cli, err := ms.c.Client(m)
		if err != nil {
			return err
		}
		for {
			resp, err := cli.MemberList(wctx, clientv3.WithSerializable())
			if err == nil && slices.ContainsFunc(resp.Members, func(x *etcdserverpb.Member) bool { return x.ID == id }) {
				break
			}
			select {
			case <-wctx.Done():
				return fmt.Errorf("member %s has not applied the addition of %x (%v): %w", m.Name(), id, err, context.Cause(wctx))
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// startAdded starts the member MemberAdd just added (see Cluster.Add), with
// the cluster as MemberAdd left it as its --initial-cluster and
// --initial-cluster-state existing.
func (ms Membership) startAdded(ctx context.Context, spec backend.MemberSpec, resp *clientv3.MemberAddResponse) (backend.Member, error) {
	var ic []string
	for _, m := range resp.Members {
		name := m.Name
		if m.ID == resp.Member.ID {
			name = spec.Name
		}
		for _, u := range m.PeerURLs {
			ic = append(ic, name+"="+u)
		}
	}
	spec.InitialCluster = strings.Join(ic, ",")
	spec.State = backend.StateExisting
	if err := ms.waitKnown(ctx, resp.Member.ID); err != nil {
		return nil, err
	}
	if err := ms.c.Add(ctx, spec); err != nil {
		return nil, err
	}
	return ms.c.Member(spec.Name), nil
}

// Remove removes the member called name from the cluster's membership
// (MemberRemove, retried for up to 30 s while etcd refuses it as unsafe) and
// from the harness's list of members, keeping it among AllMembers for its
// exit; it does not stop it. It fails if no member of that name is in the
// member list etcd returns (bounded by 10 s).
func (ms Membership) Remove(ctx context.Context, name string) error {
	cli, err := ms.c.Client()
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := cli.MemberList(lctx)
	if err != nil {
		return fmt.Errorf("member list: %w", err)
	}
	for _, m := range resp.Members {
		if m.Name == name {
			if err := retryUnhealthy(ctx, func(ctx context.Context) error {
				_, err := cli.MemberRemove(ctx, m.ID)
				return err
			}); err != nil {
				return fmt.Errorf("member remove %s: %w", name, err)
			}
			ms.c.retire(name)
			return nil
		}
	}
	return fmt.Errorf("member remove %s: not in the member list", name)
}
