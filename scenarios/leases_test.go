package scenarios

import (
	"context"
	"fmt"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// leaseIDs reads the workload's leases out of the ledger, in the order they
// were granted: revoked (a delete of theirs) or not.
func leaseIDs(ops []workload.Op) (ids []int64, revoked map[int64]bool) {
	revoked = map[int64]bool{}
	seen := map[int64]bool{}
	for _, op := range ops {
		if op.Lease == 0 {
			continue
		}
		if !seen[op.Lease] {
			seen[op.Lease] = true
			ids = append(ids, op.Lease)
		}
		if op.Kind == workload.Delete {
			revoked[op.Lease] = true
		}
	}
	return ids, revoked
}

// leaseDamage is a fault after the recovery that does harm to the
// recovered cluster's leases.
type leaseDamage struct {
	faults.KillMajority
	harm func(ctx context.Context, env faults.Env, cli *clientv3.Client, ids []int64, revoked map[int64]bool) error
}

func (d leaseDamage) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	e, cli, err := strikeRecovered(env, "lease-damage")
	if err != nil {
		return e, err
	}
	ids, revoked := leaseIDs(env.Ledger.Ops())
	if len(ids) != leaseCount+1 {
		return e, fmt.Errorf("test double: %d leases in the ledger, want %d", len(ids), leaseCount+1)
	}
	return e, d.harm(ctx, env, cli, ids, revoked)
}

func (leaseDamage) Confirm(_ context.Context, _ faults.Env, e harness.Effect) (harness.Effect, error) {
	return e, nil
}

// TestFailPathLeases: each lease check fails the drill, with its finding,
// when the recovered cluster's leases are not as the ledger says.
func TestFailPathLeases(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string
		harm func(ctx context.Context, env faults.Env, cli *clientv3.Client, ids []int64, revoked map[int64]bool) error
	}{
		{
			name: "an alive lease revoked after the restore",
			want: verify.KindLeaseLost,
			harm: func(ctx context.Context, _ faults.Env, cli *clientv3.Client, ids []int64, _ map[int64]bool) error {
				_, err := cli.Revoke(ctx, clientv3.LeaseID(ids[2]))
				return err
			},
		},
		{
			name: "a lease revoked before the backup granted again",
			want: verify.KindLeaseResurrected,
			harm: func(ctx context.Context, _ faults.Env, cli *clientv3.Client, ids []int64, _ map[int64]bool) error {
				_, err := pb.NewLeaseClient(cli.ActiveConnection()).LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: ids[0], TTL: 3600})
				return err
			},
		},
		{
			name: "a key attached to an alive lease",
			want: verify.KindLeaseKeys,
			harm: func(ctx context.Context, _ faults.Env, cli *clientv3.Client, ids []int64, _ map[int64]bool) error {
				_, err := cli.Put(ctx, "/not-the-workload/attached", "x", clientv3.WithLease(clientv3.LeaseID(ids[2])))
				return err
			},
		},
		{
			name: "the short lease kept alive after the restore",
			want: verify.KindLeaseNotExpired,
			harm: func(ctx context.Context, env faults.Env, cli *clientv3.Client, ids []int64, _ map[int64]bool) error {
				kctx, stop := context.WithCancel(context.WithoutCancel(ctx))
				ch, err := cli.KeepAlive(kctx, clientv3.LeaseID(ids[len(ids)-1]))
				if err != nil {
					stop()
					return err
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					for range ch {
					}
				}()
				env.Drill.OnClose(func(context.Context) error { stop(); <-done; return nil })
				return nil
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := lookupScenario(t, "quorum-loss/snapshot-restore")
			sc.After = append(sc.After, Act{Fault: leaseDamage{harm: tc.harm}})
			o := smallOptions(t)
			rep, err := runFailPath(t, sc, o)
			if err != nil {
				t.Fatalf("run: %v (want the drill to run to the end and fail its lease check)", err)
			}
			var found bool
			for _, f := range rep.Failures {
				found = found || strings.HasPrefix(f, tc.want+": ")
			}
			if !found {
				t.Fatalf("failures %q: want one saying %s", rep.Failures, tc.want)
			}
			if rep.Leases == nil || rep.Leases.Findings == 0 {
				t.Fatalf("report leases %+v: want its findings counted", rep.Leases)
			}
		})
	}
}
