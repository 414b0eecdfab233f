package recovery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	clientv3 "go.etcd.io/etcd/client/v3"
	clientsnap "go.etcd.io/etcd/client/v3/snapshot"
	utlsnap "go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// SaveSnapshot takes a snapshot from a live member with client/v3's snapshot
// package (as `etcdctl snapshot save` does: the file ends with its sha256)
// and reads its revision back with etcdutl's Status.
func SaveSnapshot(ctx context.Context, d *harness.Drill, m backend.Member) (harness.Snapshot, error) {
	lg, closeLog, err := d.Logger("snapshot")
	if err != nil {
		return harness.Snapshot{}, err
	}
	defer closeLog()
	path := filepath.Join(d.RunDir, "snapshot.db")
	if d.Tools != nil {
		err = ctlSave(ctx, d.Tools, d.Auth, m.ClientURL(), path)
	} else {
		cfg := clientv3.Config{Endpoints: []string{m.ClientURL()}}
		if d.Auth != nil {
			cfg.Username, cfg.Password = d.Auth.Root, d.Auth.RootPassword
		}
		_, err = clientsnap.SaveWithVersion(ctx, lg, cfg, path)
	}
	if err != nil {
		return harness.Snapshot{}, fmt.Errorf("save snapshot from %s: %w", m.Name(), err)
	}
	s, err := Describe(ctx, d, lg, path)
	if err != nil {
		return harness.Snapshot{}, err
	}
	s.Member = m.Name()
	return s, nil
}

// Describe reads a snapshot's revision, hash, key count and size with
// etcdutl's snapshot Status (d's Tools' etcdutl, if set).
func Describe(ctx context.Context, d *harness.Drill, lg *zap.Logger, path string) (harness.Snapshot, error) {
	if d.Tools != nil {
		return utlStatus(ctx, d.Tools, path)
	}
	st, err := utlsnap.NewV3(lg).Status(path)
	if err != nil {
		return harness.Snapshot{}, fmt.Errorf("status of snapshot %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return harness.Snapshot{}, fmt.Errorf("stat snapshot: %w", err)
	}
	return harness.Snapshot{Path: path, Revision: st.Revision, Hash: st.Hash, Keys: st.TotalKey, Size: fi.Size()}, nil
}
