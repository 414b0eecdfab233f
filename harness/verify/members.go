package verify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// HashKVResult is each member's hash of the keyspace at one revision.
type HashKVResult struct {
	Revision   int64
	Hashes     map[string]uint32 // by endpoint
	Consistent bool
	// Learners are endpoints that answered as learners, which keep no
	// HashKV to compare (Membership fails a cluster that has any).
	Learners []string
}

// HashKV asks every endpoint for its HashKV at rev (waiting, until ctx ends,
// for a member that has not applied rev yet) and says whether all agree.
func HashKV(ctx context.Context, cli *clientv3.Client, endpoints []string, rev int64) (HashKVResult, error) {
	res := HashKVResult{Revision: rev, Hashes: map[string]uint32{}, Consistent: true}
	var first *uint32
	for _, ep := range endpoints {
		h, err := hashKVAt(ctx, cli, ep, rev)
		if err != nil && strings.Contains(err.Error(), errLearner) {
			res.Learners = append(res.Learners, ep)
			continue
		}
		if err != nil {
			return res, err
		}
		res.Hashes[ep] = h
		if first == nil {
			first = &h
		} else if *first != h {
			res.Consistent = false
		}
	}
	return res, nil
}

// errLearner is how etcd refuses HashKV to a learner.
const errLearner = "rpc not supported for learner"

func hashKVAt(ctx context.Context, cli *clientv3.Client, ep string, rev int64) (uint32, error) {
	for {
		resp, err := cli.HashKV(ctx, ep, rev)
		if err == nil {
			return resp.Hash, nil
		}
		if !errors.Is(err, rpctypes.ErrFutureRev) {
			return 0, fmt.Errorf("hashkv of %s at revision %d: %w", ep, rev, err)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("hashkv of %s at revision %d: member never reached it: %w", ep, rev, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Membership checks that the cluster's member list has size members, each
// started (named), a voter (no learner left over), one of the members the
// harness knows (want: name -> the client URL it advertises) and
// advertising that client URL.
func Membership(ctx context.Context, cli *clientv3.Client, want map[string]string, size int) error {
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return fmt.Errorf("member list: %w", err)
	}
	if len(resp.Members) != size {
		return fmt.Errorf("the recovered cluster has %d members, want %d", len(resp.Members), size)
	}
	for _, m := range resp.Members {
		url, known := want[m.Name]
		switch {
		case m.Name == "":
			return fmt.Errorf("member %x was added but never started", m.ID)
		case !known:
			return fmt.Errorf("member list holds %s, which the harness did not start (want %v)", m.Name, slices.Sorted(maps.Keys(want)))
		case m.IsLearner:
			return fmt.Errorf("member %s is still a learner: the recovered cluster has %d voting members, want %d", m.Name, voters(resp.Members), size)
		case !slices.Contains(m.ClientURLs, url):
			return fmt.Errorf("member %s advertises client URLs %v, not its own %s", m.Name, m.ClientURLs, url)
		}
	}
	return nil
}

func voters(ms []*etcdserverpb.Member) int {
	n := 0
	for _, m := range ms {
		if !m.IsLearner {
			n++
		}
	}
	return n
}

// WatchCompacted checks that a watch from revision rev is cancelled as
// compacted, as after a restore with a revision bump and mark-compacted.
func WatchCompacted(ctx context.Context, cli *clientv3.Client, rev int64) error {
	wctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), 5*time.Second)
	defer cancel()
	for resp := range cli.Watch(wctx, "\x00", clientv3.WithFromKey(), clientv3.WithRev(rev)) {
		if resp.CompactRevision > 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return nil
		}
		if err := resp.Err(); err != nil {
			return fmt.Errorf("watch from revision %d: %w, want it cancelled as compacted", rev, err)
		}
		if len(resp.Events) > 0 {
			return fmt.Errorf("a watch from revision %d got %d events: old revisions are still served", rev, len(resp.Events))
		}
	}
	return fmt.Errorf("a watch from revision %d was not cancelled as compacted", rev)
}
