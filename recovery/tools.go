package recovery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/bins"
)

// A drill of another etcd version than the one linked in (--etcd-version)
// saves, reads and restores its snapshots with that version's own etcdctl
// and etcdutl (Drill.Tools), as its operator would: the linked libraries
// would make every such drill a cross-version restore.

// ctlSave saves a snapshot of the member at endpoint to path with etcdctl.
// With auth, it is root's: its credentials go in etcdctl's environment
// (ETCDCTL_USER), not on its command line, where ps would show them.
func ctlSave(ctx context.Context, b *bins.Binaries, a *harness.Auth, endpoint, path string) error {
	var env []string
	if a != nil {
		env = []string{"ETCDCTL_USER=" + a.CtlUser()}
	}
	_, err := runToolEnv(ctx, env, b.Etcdctl, "--endpoints", endpoint, "snapshot", "save", path)
	return err
}

// utlStatus reads a snapshot's revision, hash and key count with etcdutl.
func utlStatus(ctx context.Context, b *bins.Binaries, path string) (harness.Snapshot, error) {
	out, err := runTool(ctx, b.Etcdutl, "snapshot", "status", path, "-w", "json")
	if err != nil {
		return harness.Snapshot{}, fmt.Errorf("status of snapshot %s: %w", path, err)
	}
	var st struct {
		Hash     uint32 `json:"hash"`
		Revision int64  `json:"revision"`
		TotalKey int    `json:"totalKey"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return harness.Snapshot{}, fmt.Errorf("status of snapshot %s: %s said %q: %w", path, b.Etcdutl, bytes.TrimSpace(out), err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return harness.Snapshot{}, fmt.Errorf("stat snapshot: %w", err)
	}
	return harness.Snapshot{Path: path, Revision: st.Revision, Hash: st.Hash, Keys: st.TotalKey, Size: fi.Size()}, nil
}

// utlRestore restores one member's data dir from a snapshot with etcdutl.
func utlRestore(ctx context.Context, b *bins.Binaries, snapshot string, t restoreTarget, skipHashCheck bool, bump uint64) error {
	args := []string{"snapshot", "restore", snapshot, "--name", t.Name, "--data-dir", t.DataDir,
		"--initial-advertise-peer-urls", t.PeerURL, "--initial-cluster", t.InitialCluster, "--initial-cluster-token", t.Token}
	if skipHashCheck {
		args = append(args, "--skip-hash-check")
	}
	if bump > 0 {
		args = append(args, "--bump-revision", strconv.FormatUint(bump, 10), "--mark-compacted")
	}
	_, err := runTool(ctx, b.Etcdutl, args...)
	return err
}

// runTool runs an etcd tool and returns its stdout; its error holds the
// command line and the tail of its stderr (etcd's own message).
func runTool(ctx context.Context, path string, args ...string) ([]byte, error) {
	return runToolEnv(ctx, nil, path, args...)
}

// runToolEnv is runTool with env added to the tool's environment.
func runToolEnv(ctx context.Context, env []string, path string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return nil, fmt.Errorf("%s %s: %w: %s", path, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
