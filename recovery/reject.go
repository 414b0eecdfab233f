package recovery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/etcd-drill/etcd-drill/harness"
)

// ErrHashMismatch is how etcdutl refuses a snapshot whose integrity hash does
// not match its content.
const ErrHashMismatch = "expected sha256"

// RefuseDamaged is the restore of a damaged snapshot, which must be refused:
// etcdutl checks the integrity hash and fails, and no data dir may be left
// that an operator could start by mistake. It returns no cluster, and sets
// the drill's Rejected to the refusal.
type RefuseDamaged struct{}

func (RefuseDamaged) Name() string { return "snapshot-restore (must refuse)" }

func (RefuseDamaged) NeedsSnapshot() bool { return true }

func (RefuseDamaged) Recover(ctx context.Context, d *harness.Drill) (*harness.Cluster, error) {
	specs, err := d.Layout(RestoredPrefix, "restored", d.Token+"-restored", d.Size)
	if err != nil {
		return nil, err
	}
	err = RestoreAll(d, specs, false, 0)
	if err == nil {
		return nil, errors.New("the damaged snapshot was restored: its integrity check did not catch the damage")
	}
	if !strings.Contains(err.Error(), ErrHashMismatch) {
		return nil, fmt.Errorf("the restore failed, but not on the integrity check: %w", err)
	}
	for _, s := range specs {
		if _, serr := os.Stat(s.DataDir); serr == nil {
			return nil, fmt.Errorf("the refused restore left data dir %s behind", s.DataDir)
		}
	}
	d.Rejected = err
	return nil, nil
}
