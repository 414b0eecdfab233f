package scenarios

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/logs"
)

// A drill writes its members' data dirs, WALs, logs and the snapshot under
// its work dir. It refuses to start where the work dir has less free space
// than it may need, and stops cleanly when free space falls below a floor
// while it runs (an etcd member flooding its log fills a disk within
// minutes).
const (
	// walPrealloc is the WAL segment etcd preallocates for every member.
	walPrealloc = 64 << 20
	// diskFloor is the least free space a running drill leaves.
	diskFloor = 256 << 20
	// diskPoll is how often a running drill looks at the free space.
	diskPoll = 500 * time.Millisecond
)

// DiskNeed estimates the bytes a drill may write: for the old cluster and
// the recovered one, each member's data (its db and its WAL hold every
// write), the WAL etcd preallocates and a full log; and the snapshot and a
// copy of it.
func (o Options) DiskNeed() uint64 {
	data := uint64(o.dataBytes())
	logBudget := uint64(o.maxLogBytes())
	perMember := 2*data + walPrealloc + logBudget
	return 2*uint64(max(o.Members, 1))*perMember + 2*data
}

func (o Options) maxLogBytes() int64 {
	if o.MaxLogBytes > 0 {
		return o.MaxLogBytes
	}
	return logs.DefaultMaxBytes
}

// workDir is where the run directory goes.
func (o Options) workDir() string {
	if o.BaseDir != "" {
		return o.BaseDir
	}
	return os.TempDir()
}

// freeBytes is the space free to this user under dir.
func (o Options) freeBytes(dir string) (uint64, error) {
	if o.FreeSpace != nil {
		return o.FreeSpace(dir)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// checkDisk refuses a drill whose work dir has less free space than it may
// need.
func (o Options) checkDisk() error {
	dir := o.workDir()
	free, err := o.freeBytes(dir)
	if err != nil {
		return err
	}
	if need := o.DiskNeed(); free < need {
		return fmt.Errorf("work dir %s has %s free, the drill may need %s (%d members, %d writes of %d bytes, %s logs each): free space or use --workdir",
			dir, mib(free), mib(need), o.Members, o.Keys+o.writesAfter(), o.Workload.ValueSize, mib(uint64(o.maxLogBytes())))
	}
	return nil
}

// DiskLowError ends a drill whose work dir ran short of space.
type DiskLowError struct {
	Dir  string
	Free uint64
}

func (e *DiskLowError) Error() string {
	return fmt.Sprintf("disk-low: %s has only %s free, below the floor of %s: the drill stopped", e.Dir, mib(e.Free), mib(diskFloor))
}

// watchDisk cancels the drill when free space under dir falls below the
// floor, until ctx ends.
func (o Options) watchDisk(ctx context.Context, dir string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(diskPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if free, err := o.freeBytes(dir); err == nil && free < diskFloor {
			cancel(&DiskLowError{Dir: dir, Free: free})
			return
		}
	}
}

func mib(b uint64) string { return fmt.Sprintf("%d MiB", b>>20) }
