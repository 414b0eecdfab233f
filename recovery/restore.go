package recovery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	utlsnap "go.etcd.io/etcd/etcdutl/v3/snapshot"

	"github.com/etcd-drill/etcd-drill/harness"
)

// SnapshotRestore is the recovery guide's main procedure: every member of a
// NEW cluster (new names, ports, data dirs and initial-cluster token) is
// restored from the one snapshot with etcdutl's snapshot package, then started.
type SnapshotRestore struct {
	// SkipHashCheck restores a db copied from a data dir, which has no
	// integrity hash.
	SkipHashCheck bool
}

func (SnapshotRestore) Name() string { return "snapshot-restore" }

func (SnapshotRestore) NeedsSnapshot() bool { return true }

// RestoredPrefix names the members of a restored cluster r1, r2, ...
const RestoredPrefix = "r"

func (r SnapshotRestore) Recover(ctx context.Context, d *harness.Drill) (*harness.Cluster, error) {
	if d.Snapshot.Path == "" {
		return nil, errors.New("snapshot-restore: the drill took no snapshot")
	}
	// The old cluster's survivors are stopped first, as an operator would;
	// their resources are released in the background, off the recovery path.
	if d.Cluster != nil {
		if err := d.Cluster.Kill(); err != nil {
			return nil, fmt.Errorf("stop old members: %w", err)
		}
	}
	cs := d.Spec(RestoredPrefix, "restored", d.Token+"-restored", d.Size)
	specs, err := harness.Plan(d.Ports, cs)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cs.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("make restore directory: %w", err)
	}
	lg, closeLog, err := d.Logger("restore")
	if err != nil {
		return nil, err
	}
	defer closeLog()
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() {
			err := utlsnap.NewV3(lg).Restore(utlsnap.RestoreConfig{
				SnapshotPath:        d.Snapshot.Path,
				Name:                s.Name,
				OutputDataDir:       s.DataDir,
				PeerURLs:            []string{s.PeerURL},
				InitialCluster:      s.InitialCluster,
				InitialClusterToken: s.Token,
				SkipHashCheck:       r.SkipHashCheck,
			})
			if err != nil {
				errs[i] = fmt.Errorf("restore member %s: %w", s.Name, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	d.Snapshot.HashChecked = !r.SkipHashCheck
	c, err := d.StartMembers(ctx, specs)
	if err != nil {
		return nil, fmt.Errorf("start restored cluster: %w", err)
	}
	return c, nil
}
