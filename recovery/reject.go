package recovery

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/etcd-drill/etcd-drill/harness"
)

// ErrHashMismatch is how etcdutl refuses a snapshot whose integrity hash does
// not match its content.
const ErrHashMismatch = "expected sha256"

// RefuseDamaged is the restore of a damaged snapshot, which must be refused:
// etcdutl checks the integrity hash and fails. etcdutl leaves the data dir it
// began (with the db copied in): the recovery says so in a note and removes
// it, so that no operator starts it by mistake. Its outcome has no cluster,
// and the refusal.
type RefuseDamaged struct{}

func (RefuseDamaged) Name() string { return "snapshot-restore (must refuse)" }

func (RefuseDamaged) NeedsSnapshot() bool { return true }

func (RefuseDamaged) Recover(ctx context.Context, env Env) (Outcome, error) {
	d := env.Drill
	specs, err := d.Plan(harness.Layout{Prefix: RestoredPrefix, Dir: "restored", Token: d.Token + "-restored", Size: env.Size})
	if err != nil {
		return Outcome{}, err
	}
	// etcdutl itself, not RestoreAll (which removes what a failed restore
	// made): whether etcdutl leaves a data dir is what is drilled here.
	lg, closeLog, err := d.Logger("restore")
	if err != nil {
		return Outcome{}, err
	}
	defer closeLog()
	var errs []error
	for _, s := range specs {
		t := restoreTarget{Name: s.Name, DataDir: s.DataDir, PeerURL: s.PeerURL, InitialCluster: s.InitialCluster, Token: s.Token}
		errs = append(errs, restoreMember(ctx, d, lg, env.Snapshot.Path, t, false, 0))
	}
	var left []string
	for _, s := range specs {
		if _, serr := os.Stat(s.DataDir); serr == nil {
			left = append(left, s.DataDir)
			os.RemoveAll(s.DataDir)
		}
	}
	for i, err := range errs {
		switch {
		case err == nil:
			return Outcome{}, fmt.Errorf("the damaged snapshot was restored for %s: its integrity check did not catch the damage", specs[i].Name)
		case !strings.Contains(err.Error(), ErrHashMismatch):
			return Outcome{}, fmt.Errorf("the restore of %s failed, but not on the integrity check: %w", specs[i].Name, err)
		}
	}
	out := Outcome{Refused: errs[0]}
	if len(left) > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("etcdutl refused the damaged snapshot but left %d half-made data dirs (%s); removed", len(left), strings.Join(left, ", ")))
	}
	return out, nil
}
