package recovery

import (
	"context"
	"errors"
	"fmt"

	"github.com/etcd-drill/etcd-drill/harness"
)

// MemberReplace replaces members lost for good while the others keep
// quorum: MemberRemove the lost one, MemberAdd a new one, start it with an
// empty data dir into the existing cluster. No snapshot is involved and no
// acknowledged write may be lost.
type MemberReplace struct{}

func (MemberReplace) Name() string { return "member-replace" }

func (MemberReplace) NeedsSnapshot() bool { return false }

// ReplacementPrefix names replacement members n1, n2, ...
const ReplacementPrefix = "n"

func (MemberReplace) Recover(ctx context.Context, d *harness.Drill) (*harness.Cluster, error) {
	c := d.Cluster
	lost := d.Effect.Members
	if len(lost) == 0 {
		return nil, errors.New("member-replace: the fault lost no member")
	}
	for _, name := range lost {
		if err := c.Remove(ctx, name); err != nil {
			return nil, err
		}
	}
	if err := grow(ctx, d, c, ReplacementPrefix, 1, len(lost), false); err != nil {
		return nil, err
	}
	d.ExpectAt, d.Baseline = harness.AllWrites, "every acknowledged write"
	if err := c.WaitHealthy(ctx); err != nil {
		return nil, fmt.Errorf("cluster after replacing %v: %w", lost, err)
	}
	return c, nil
}
