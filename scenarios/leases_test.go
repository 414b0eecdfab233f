package scenarios

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/etcdtest"
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

// TestDeletedAt finds the revision a lease's expiry deleted its keys at by
// reading them at past revisions, among other writes before and after; keys
// still there, or deleted at two revisions, are errors, not a revision.
func TestDeletedAt(t *testing.T) {
	ctx := t.Context()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdtest.Single(t, nil)}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	put := func(k string, opts ...clientv3.OpOption) int64 {
		resp, err := cli.Put(ctx, k, "v", opts...)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"/l/k0", "/l/k1", "/l/k2"}
	for _, k := range keys {
		put(k, clientv3.WithLease(lease.ID))
	}
	from := put("/other/a") + 1
	for i := range 37 {
		put(fmt.Sprintf("/other/b%d", i))
	}
	if _, err := deletedAt(ctx, cli, keys, from); err == nil || !strings.Contains(err.Error(), "still there") {
		t.Fatalf("keys alive: err %v, want 'still there'", err)
	}
	rv, err := cli.Revoke(ctx, lease.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 11 {
		put(fmt.Sprintf("/other/c%d", i))
	}
	got, err := deletedAt(ctx, cli, keys, from)
	if err != nil || got != rv.Header.Revision {
		t.Fatalf("deletedAt = %d, %v; want the revoke's revision %d", got, err, rv.Header.Revision)
	}
	// Two keys deleted apart: no one revision.
	apart := []string{"/m/k0", "/m/k1"}
	put(apart[0])
	from = put(apart[1])
	for _, k := range apart {
		if _, err := cli.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		put("/other/d")
	}
	if _, err := deletedAt(ctx, cli, apart, from+1); err == nil || !strings.Contains(err.Error(), "not deleted at one revision") {
		t.Fatalf("keys deleted apart: err %v, want 'not deleted at one revision'", err)
	}
}
