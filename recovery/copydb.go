package recovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/etcd-drill/etcd-drill/harness"
)

// CopyDB is the backup of an operator with no snapshot but a surviving disk:
// member/snap/db copied out of the data dir of a member the fault killed.
// A copied db has no integrity hash, so it restores only with
// --skip-hash-check; its revision is what that member had committed.
func CopyDB(ctx context.Context, d *harness.Drill) (harness.Snapshot, error) {
	if d.Cluster == nil || len(d.Effect.Members) == 0 {
		return harness.Snapshot{}, errors.New("copy-db: the fault killed no member to copy a db from")
	}
	m := d.Cluster.Member(d.Effect.Members[0])
	if m == nil {
		return harness.Snapshot{}, fmt.Errorf("copy-db: no member %s", d.Effect.Members[0])
	}
	// The member must be down and have let go of its files.
	if err := m.Wait(ctx); err != nil {
		return harness.Snapshot{}, fmt.Errorf("copy-db: %w", err)
	}
	src := filepath.Join(m.DataDir(), "member", "snap", "db")
	dst := filepath.Join(d.RunDir, "copied.db")
	if err := copyFile(src, dst); err != nil {
		return harness.Snapshot{}, fmt.Errorf("copy-db from %s: %w", m.Name(), err)
	}
	lg, closeLog, err := d.Logger("snapshot")
	if err != nil {
		return harness.Snapshot{}, err
	}
	defer closeLog()
	s, err := Describe(lg, dst)
	if err != nil {
		return harness.Snapshot{}, err
	}
	s.Member, s.Copied = m.Name(), true
	return s, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// CopiedDBRestore restores a copied db, as the recovery guide says: first
// without --skip-hash-check, which must fail (there is no hash to check),
// then with it.
type CopiedDBRestore struct{}

func (CopiedDBRestore) Name() string { return "copied-db-restore" }

func (CopiedDBRestore) NeedsSnapshot() bool { return true }

// ErrNoHash is etcdutl's refusal of a db that has no integrity hash.
const ErrNoHash = "snapshot missing hash but --skip-hash-check=false"

func (CopiedDBRestore) Recover(ctx context.Context, d *harness.Drill) (*harness.Cluster, error) {
	err := tryRestore(d, "hash-checked", false)
	switch {
	case err == nil:
		return nil, errors.New("a db copied from a data dir restored without --skip-hash-check: its integrity went unchecked")
	case !strings.Contains(err.Error(), ErrNoHash):
		return nil, fmt.Errorf("restore without --skip-hash-check failed, but not for the missing hash: %w", err)
	}
	d.Report.Note("restore without --skip-hash-check refused: " + err.Error())
	return SnapshotRestore{SkipHashCheck: true}.Recover(ctx, d)
}

// tryRestore restores one member from the drill's snapshot into a scratch
// dir that it removes again, and returns the restore's error.
func tryRestore(d *harness.Drill, name string, skipHashCheck bool) error {
	dir, err := os.MkdirTemp(d.RunDir, "try-restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lg, closeLog, err := d.Logger("restore")
	if err != nil {
		return err
	}
	defer closeLog()
	peer := "http://127.0.0.1:2380"
	return restoreMember(lg, d.Snapshot.Path, restoreTarget{
		Name: name, DataDir: filepath.Join(dir, name+".etcd"), PeerURL: peer,
		InitialCluster: name + "=" + peer, Token: "try-" + d.Token,
	}, skipHashCheck, 0)
}
