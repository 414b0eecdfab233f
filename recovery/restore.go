package recovery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	utlsnap "go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// SnapshotRestore is the recovery guide's main procedure: every member of a
// NEW cluster (new names, ports, data dirs and initial-cluster token) is
// restored from the one snapshot with etcdutl's snapshot package, then started.
type SnapshotRestore struct {
	// SkipHashCheck restores a db copied from a data dir, which has no
	// integrity hash.
	SkipHashCheck bool
	// RevisionBump raises the restored revision by this much and marks the
	// old revisions compacted (etcdutl --bump-revision --mark-compacted), so
	// that clients never see revisions go back.
	RevisionBump uint64
}

func (r SnapshotRestore) Name() string {
	if r.RevisionBump > 0 {
		return "snapshot-restore-bump-revision"
	}
	return "snapshot-restore"
}

func (SnapshotRestore) NeedsSnapshot() bool { return true }

// RestoredPrefix names the members of a restored cluster r1, r2, ...
const RestoredPrefix = "r"

// RunbookMayReplace: an operator's runbook may stand in for a plain
// restore, not for one whose hash check or revision bump is the point.
func (r SnapshotRestore) RunbookMayReplace() bool { return !r.SkipHashCheck && r.RevisionBump == 0 }

func (r SnapshotRestore) Recover(ctx context.Context, env Env) (Outcome, error) {
	if env.Snapshot.Path == "" {
		return Outcome{}, errors.New("snapshot-restore: the drill took no snapshot")
	}
	env.stopOld()
	d := env.Drill
	specs, err := d.Plan(harness.Layout{Prefix: RestoredPrefix, Dir: "restored", Token: d.Token + "-restored", Size: env.Size})
	if err != nil {
		return Outcome{}, err
	}
	if err := RestoreAll(ctx, d, env.Snapshot.Path, specs, r.SkipHashCheck, r.RevisionBump); err != nil {
		return Outcome{}, err
	}
	c, err := d.StartMembers(ctx, specs)
	if err != nil {
		return Outcome{}, fmt.Errorf("start restored cluster: %w", err)
	}
	return Outcome{Cluster: c, HashChecked: !r.SkipHashCheck}, nil
}

// stopOld kills what is left of the old cluster, as an operator stops the
// survivors before a restore; they release in the background, off the
// recovery's path.
func (env Env) stopOld() {
	if env.Old != nil {
		_ = env.Old.Kill()
	}
}

// RestoreAll restores every member of specs from the snapshot at path, in
// parallel. If any restore fails, every data dir it made is removed: a
// half-restored data dir must not be started by mistake.
func RestoreAll(ctx context.Context, d *harness.Drill, path string, specs []backend.MemberSpec, skipHashCheck bool, bump uint64) error {
	lg, closeLog, err := d.Logger("restore")
	if err != nil {
		return err
	}
	defer closeLog()
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() {
			t := restoreTarget{Name: s.Name, DataDir: s.DataDir, PeerURL: s.PeerURL, InitialCluster: s.InitialCluster, Token: s.Token}
			if err := restoreMember(ctx, d, lg, path, t, skipHashCheck, bump); err != nil {
				errs[i] = fmt.Errorf("restore member %s: %w", s.Name, err)
			}
		})
	}
	wg.Wait()
	if d.MigrateWith != nil && errors.Join(errs...) == nil {
		for i, s := range specs {
			if _, err := runTool(ctx, d.MigrateWith.Etcdutl, "migrate", "--data-dir", s.DataDir, "--target-version", d.MigrateTo); err != nil {
				errs[i] = fmt.Errorf("migrate member %s to %s: %w", s.Name, d.MigrateTo, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		for _, s := range specs {
			os.RemoveAll(s.DataDir)
		}
		return err
	}
	return nil
}

type restoreTarget struct {
	Name, DataDir, PeerURL, InitialCluster, Token string
}

// restoreMember restores one member with etcdutl: d's Tools' binary if
// set, else the linked snapshot package.
func restoreMember(ctx context.Context, d *harness.Drill, lg *zap.Logger, snapshot string, t restoreTarget, skipHashCheck bool, bump uint64) error {
	if d.Tools != nil {
		return utlRestore(ctx, d.Tools, snapshot, t, skipHashCheck, bump)
	}
	return utlsnap.NewV3(lg).Restore(utlsnap.RestoreConfig{
		SnapshotPath:        snapshot,
		Name:                t.Name,
		OutputDataDir:       t.DataDir,
		PeerURLs:            []string{t.PeerURL},
		InitialCluster:      t.InitialCluster,
		InitialClusterToken: t.Token,
		SkipHashCheck:       skipHashCheck,
		RevisionBump:        bump,
		MarkCompacted:       bump > 0,
	})
}
