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
// member/snap/db copied out of the data dir of a member that is down, the
// one whose db holds the highest revision. A copied db has no integrity
// hash, so it restores only with --skip-hash-check; its revision is what
// that member had committed.
func CopyDB(ctx context.Context, env Env) (harness.Snapshot, error) {
	dead := env.dead()
	if len(dead) == 0 {
		return harness.Snapshot{}, errors.New("copy-db: no member is down to copy a db from")
	}
	d := env.Drill
	lg, closeLog, err := d.Logger("snapshot")
	if err != nil {
		return harness.Snapshot{}, err
	}
	defer closeLog()
	var best harness.Snapshot
	for _, m := range dead {
		// The member must have let go of its files.
		if err := m.Wait(ctx); err != nil {
			return harness.Snapshot{}, fmt.Errorf("copy-db: %w", err)
		}
		src := filepath.Join(m.DataDir(), "member", "snap", "db")
		dst := filepath.Join(d.RunDir, "copied-"+m.Name()+".db")
		if err := copyFile(src, dst); err != nil {
			return harness.Snapshot{}, fmt.Errorf("copy-db from %s: %w", m.Name(), err)
		}
		s, err := Describe(ctx, d, lg, dst)
		if err != nil {
			return harness.Snapshot{}, err
		}
		if s.Revision <= best.Revision {
			os.Remove(dst)
			continue
		}
		if best.Path != "" {
			os.Remove(best.Path)
		}
		s.Member, s.Copied = m.Name(), true
		best = s
	}
	final := filepath.Join(d.RunDir, "copied.db")
	if err := os.Rename(best.Path, final); err != nil {
		return harness.Snapshot{}, fmt.Errorf("copy-db: %w", err)
	}
	best.Path = final
	return best, nil
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

func (CopiedDBRestore) Recover(ctx context.Context, env Env) (Outcome, error) {
	err := tryRestore(ctx, env.Drill, env.Snapshot.Path, "hash-checked", false)
	switch {
	case err == nil:
		return Outcome{}, errors.New("a db copied from a data dir restored without --skip-hash-check: its integrity went unchecked")
	case !strings.Contains(err.Error(), ErrNoHash):
		return Outcome{}, fmt.Errorf("restore without --skip-hash-check failed, but not for the missing hash: %w", err)
	}
	refused := "restore without --skip-hash-check refused: " + err.Error()
	out, err := SnapshotRestore{SkipHashCheck: true}.Recover(ctx, env)
	out.Notes = append([]string{refused}, out.Notes...)
	return out, err
}

// tryRestore restores one member from the snapshot at path into a scratch
// dir that it removes again, and returns the restore's error.
func tryRestore(ctx context.Context, d *harness.Drill, path, name string, skipHashCheck bool) error {
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
	return restoreMember(ctx, d, lg, path, restoreTarget{
		Name: name, DataDir: filepath.Join(dir, name+".etcd"), PeerURL: peer,
		InitialCluster: name + "=" + peer, Token: "try-" + d.Token,
	}, skipHashCheck, 0)
}
