package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// HashKVResult is each member's hash of the keyspace at one revision.
type HashKVResult struct {
	Revision   int64
	Hashes     map[string]uint32 // by endpoint
	Consistent bool
}

// HashKV asks every endpoint for its HashKV at rev (waiting, until ctx ends,
// for a member that has not applied rev yet) and says whether all agree.
func HashKV(ctx context.Context, cli *clientv3.Client, endpoints []string, rev int64) (HashKVResult, error) {
	res := HashKVResult{Revision: rev, Hashes: map[string]uint32{}, Consistent: true}
	var first *uint32
	for _, ep := range endpoints {
		h, err := hashKVAt(ctx, cli, ep, rev)
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
