package faults

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// CorruptSnapshot flips bytes in the middle of the drill's saved snapshot,
// as a bad disk or a broken copy would: its integrity hash no longer matches.
type CorruptSnapshot struct {
	// Bytes is how many bytes to flip (default 16).
	Bytes int
}

func (CorruptSnapshot) Name() string { return "corrupt-snapshot" }

func (CorruptSnapshot) Needs() backend.Caps { return backend.Caps{} }

func (f CorruptSnapshot) Inject(ctx context.Context, env Env) (harness.Effect, error) {
	path := env.Snapshot.Path
	if path == "" {
		return harness.Effect{}, errors.New("corrupt-snapshot: the drill took no snapshot")
	}
	n := f.Bytes
	if n <= 0 {
		n = 16
	}
	e := harness.Effect{Fault: "corrupt-snapshot", At: time.Now()}
	fh, size, err := openSnapshot(path, os.O_RDWR)
	if err != nil {
		return e, err
	}
	defer fh.Close()
	off := size / 2
	buf := make([]byte, n)
	if _, err := fh.ReadAt(buf, off); err != nil {
		return e, fmt.Errorf("read snapshot: %w", err)
	}
	for i := range buf {
		buf[i] ^= 0xff
	}
	if _, err := fh.WriteAt(buf, off); err != nil {
		return e, fmt.Errorf("corrupt snapshot: %w", err)
	}
	e.InForce = time.Since(e.At)
	e.Detail = fmt.Sprintf("flipped %d bytes at offset %d of %s (%d bytes)", n, off, path, size)
	return e, nil
}

// Confirm: the snapshot's sha256 no longer matches the hash at its end.
func (CorruptSnapshot) Confirm(ctx context.Context, env Env, e harness.Effect) (harness.Effect, error) {
	ok, err := HashMatches(env.Snapshot.Path)
	if err != nil {
		return e, err
	}
	if ok {
		return e, errors.New("the snapshot's integrity hash still matches: nothing was corrupted")
	}
	e.Detail += "; its integrity hash no longer matches"
	return e, nil
}

// HashMatches says whether a snapshot saved by etcdctl still matches the
// sha256 it carries at its end.
func HashMatches(path string) (bool, error) {
	f, size, err := openSnapshot(path, os.O_RDONLY)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if size < sha256.Size {
		return false, fmt.Errorf("snapshot %s too short", path)
	}
	h := sha256.New()
	if _, err := io.CopyN(h, f, size-sha256.Size); err != nil {
		return false, err
	}
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(f, want); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), want), nil
}

// openSnapshot opens the snapshot at path with flag (os.O_RDONLY,
// os.O_RDWR) and returns it with its size; the caller closes it.
func openSnapshot(path string, flag int) (*os.File, int64, error) {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("open snapshot: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("snapshot size: %w", err)
	}
	return f, st.Size(), nil
}
