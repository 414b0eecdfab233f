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

// Recover replaces the members of the old cluster that are down, as an
// operator replaces the ones that do not answer.
func (MemberReplace) Recover(ctx context.Context, env Env) (Outcome, error) {
	c := env.Old
	lost := harness.Names(env.dead())
	if len(lost) == 0 {
		return Outcome{}, errors.New("member-replace: no member of the cluster is down")
	}
	for _, name := range lost {
		if err := harness.MembershipOf(c).Remove(ctx, name); err != nil {
			return Outcome{}, err
		}
	}
	if err := grow(ctx, env.Drill, c, ReplacementPrefix, 1, len(lost), false); err != nil {
		return Outcome{}, err
	}
	if err := c.WaitHealthy(ctx); err != nil {
		return Outcome{}, fmt.Errorf("cluster after replacing %v: %w", lost, err)
	}
	return Outcome{Cluster: c, Baseline: EveryWrite}, nil
}
