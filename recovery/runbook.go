package recovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/backend/external"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/logs"
	"github.com/etcd-drill/etcd-drill/harness/proc"
)

// Runbook runs the operator's own executable in place of a built-in
// recovery, twice: `RUNBOOK backup` before the fault (it may write the
// snapshot itself, or leave it to the harness), and `RUNBOOK restore` after
// it, to bring up a new cluster laid out by the harness. The environment
// names the binaries, the snapshot, every new member's name, data dir, URLs
// and log, the initial cluster and a fresh token (see Env). The harness then
// waits for that cluster to be healthy and verifies it as usual; at cleanup
// it ends every process the runbook left running.
type Runbook struct {
	Path string
	Bins bins.Binaries
	// Timeout bounds each phase (default 2 minutes); Healthy bounds the wait
	// for the new cluster after the restore phase (default 1 minute).
	Timeout time.Duration
	Healthy time.Duration
	// MaxLogBytes caps the output of each phase (see logs.Capped): 0 means
	// logs.DefaultMaxBytes, negative no cap.
	MaxLogBytes int64
}

func (Runbook) Name() string { return "runbook" }

func (Runbook) NeedsSnapshot() bool { return true }

// CheckRunbook says why path cannot be run as a runbook, if it cannot.
func CheckRunbook(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("runbook %s does not exist", path)
	case fi.IsDir():
		return fmt.Errorf("runbook %s is a directory", path)
	case fi.Mode()&0o111 == 0:
		return fmt.Errorf("runbook %s is not executable (chmod +x it)", path)
	}
	return nil
}

// RunbookError is a runbook phase that failed: the procedure, not the harness.
type RunbookError struct {
	Phase string
	Log   string
	Err   error
}

func (e *RunbookError) Error() string {
	return fmt.Sprintf("runbook %s phase: %v (its output: %s)", e.Phase, e.Err, e.Log)
}

func (e *RunbookError) Unwrap() error { return e.Err }

// LogPath is where the output of a phase goes.
func (r Runbook) LogPath(d *harness.Drill, phase string) string {
	return filepath.Join(d.RunDir, "runbook-"+phase+".log")
}

// Backup runs the backup phase with DRILL_SNAPSHOT_ENDPOINT set to from. If
// the runbook leaves no snapshot at DRILL_SNAPSHOT, the harness takes one.
func (r Runbook) Backup(ctx context.Context, renv Env, from backend.Member) (harness.Snapshot, error) {
	d := renv.Drill
	path := filepath.Join(d.RunDir, "snapshot.db")
	env := r.baseEnv(d, "backup", path)
	env = append(env,
		"DRILL_SNAPSHOT_ENDPOINT="+from.ClientURL(),
		"DRILL_ENDPOINTS="+strings.Join(harness.Endpoints(renv.Old.Live()), ","),
	)
	ph, err := r.run(ctx, d, "backup", env)
	d.OnClose(ph.end)
	if err != nil {
		return harness.Snapshot{}, err
	}
	if _, err := os.Stat(path); err != nil {
		return SaveSnapshot(ctx, d, from)
	}
	lg, closeLog, err := d.Logger("snapshot")
	if err != nil {
		return harness.Snapshot{}, err
	}
	defer closeLog()
	s, err := Describe(ctx, d, lg, path)
	if err != nil {
		return harness.Snapshot{}, fmt.Errorf("the runbook's snapshot: %w", err)
	}
	s.Member = from.Name()
	return s, nil
}

// Recover stops what is left of the old cluster, runs the restore phase,
// and waits for the cluster it laid out to be healthy.
func (r Runbook) Recover(ctx context.Context, renv Env) (Outcome, error) {
	renv.stopOld()
	d := renv.Drill
	// The runbook starts etcd on this host, whatever the old cluster ran on.
	specs, err := d.Plan(harness.Layout{Prefix: RestoredPrefix, Dir: "restored", Token: d.Token + "-restored", Size: renv.Size, Host: true})
	if err != nil {
		return Outcome{}, err
	}
	env := append(r.baseEnv(d, "restore", renv.Snapshot.Path), MemberEnv(specs)...)
	if renv.Old != nil {
		env = append(env, "DRILL_OLD_ENDPOINTS="+strings.Join(harness.Endpoints(renv.Old.Members()), ","))
	}
	ms := make([]backend.Member, len(specs))
	for i, s := range specs {
		ms[i] = external.Attach(s)
	}
	c := harness.Adopt(external.New("runbook", mustVersion(r.Bins)), d.Ports, specs, ms)
	d.Track(c)
	ph, err := r.run(ctx, d, "restore", env)
	d.OnClose(ph.end)
	if err != nil {
		return Outcome{}, err
	}
	hctx, cancel := context.WithTimeout(ctx, orDefault(r.Healthy, time.Minute))
	defer cancel()
	if err := c.WaitHealthy(hctx); err != nil {
		return Outcome{}, &RunbookError{Phase: "restore", Log: r.LogPath(d, "restore"), Err: fmt.Errorf("no healthy cluster after the runbook: %w", err)}
	}
	// The runbook's restore is its own to check: HashChecked stays false.
	return Outcome{Cluster: c}, nil
}

// MemberEnv describes the members of the new cluster to a runbook.
func MemberEnv(specs []backend.MemberSpec) []string {
	env := []string{"DRILL_MEMBER_COUNT=" + strconv.Itoa(len(specs))}
	var names, eps []string
	for i, s := range specs {
		p := "DRILL_MEMBER_" + strconv.Itoa(i+1) + "_"
		env = append(env,
			p+"NAME="+s.Name,
			p+"DATA_DIR="+s.DataDir,
			p+"CLIENT_URL="+s.ClientURL,
			p+"PEER_URL="+s.PeerURL,
			p+"LOG="+s.LogPath,
		)
		names = append(names, s.Name)
		eps = append(eps, s.ClientURL)
	}
	if len(specs) > 0 {
		s := specs[0]
		env = append(env,
			"DRILL_MEMBER_NAMES="+strings.Join(names, " "),
			"DRILL_ENDPOINTS="+strings.Join(eps, ","),
			"DRILL_INITIAL_CLUSTER="+s.InitialCluster,
			"DRILL_TOKEN="+s.Token,
			"DRILL_HEARTBEAT_MS="+strconv.FormatInt(s.Timing.Heartbeat.Milliseconds(), 10),
			"DRILL_ELECTION_MS="+strconv.FormatInt(s.Timing.Election.Milliseconds(), 10),
		)
	}
	return env
}

func (r Runbook) baseEnv(d *harness.Drill, phase, snapshot string) []string {
	var auth []string
	if d.Auth != nil {
		// etcdctl reads ETCDCTL_USER: the runbook's etcdctl calls are
		// root's without a word of it in their command lines.
		auth = []string{"ETCDCTL_USER=" + d.Auth.CtlUser(), "DRILL_AUTH=1"}
	}
	return append(auth,
		"DRILL_PHASE="+phase,
		"DRILL_ETCD_BIN="+r.Bins.Etcd,
		"DRILL_ETCDCTL_BIN="+r.Bins.Etcdctl,
		"DRILL_ETCDUTL_BIN="+r.Bins.Etcdutl,
		"DRILL_SNAPSHOT="+snapshot,
		"DRILL_WORKDIR="+filepath.Join(d.RunDir, "runbook"),
		"DRILL_RUN_DIR="+d.RunDir,
	)
}

// run runs one phase in its own process group, output to its log, and
// returns what is left of it once the script exits: its process group (its
// members may outlive the script: etcd started in the background) and the
// copy of its output, which goes on as long as any of them holds it. The
// phase's end, at the drill's cleanup, ends both.
func (r Runbook) run(ctx context.Context, d *harness.Drill, phase string, env []string) (*phaseRun, error) {
	ph := &phaseRun{}
	logPath := r.LogPath(d, phase)
	if err := os.MkdirAll(filepath.Join(d.RunDir, "runbook"), 0o755); err != nil {
		return ph, fmt.Errorf("make runbook work dir: %w", err)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return ph, fmt.Errorf("runbook log: %w", err)
	}
	logw, err := logs.NewCapped(logf, logs.Budget(r.MaxLogBytes))
	if err != nil {
		logf.Close()
		return ph, fmt.Errorf("runbook log: %w", err)
	}
	// The output goes through a pipe of our own, copied into the capped
	// writer. Its write end is an *os.File, so exec hands it to the script
	// as it is and Wait does not wait for it to be closed: processes the
	// script leaves in the background hold it as long as they run.
	pr, pw, err := os.Pipe()
	if err != nil {
		logw.Close()
		return ph, fmt.Errorf("runbook output pipe: %w", err)
	}
	cmd := exec.Command(r.Path, phase)
	cmd.Dir = filepath.Join(d.RunDir, "runbook")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = pw, pw
	sp := proc.NewSpawner()
	defer sp.Close()
	err = sp.Start(cmd)
	pw.Close() // the script and its children hold it now
	if err != nil {
		pr.Close()
		logw.Close()
		return ph, &RunbookError{Phase: phase, Log: logPath, Err: err}
	}
	ph.pgid, ph.out, ph.copied = cmd.Process.Pid, pr, make(chan struct{})
	go func() {
		defer close(ph.copied)
		_, _ = io.Copy(logw, pr)
		pr.Close()
		logw.Close()
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tctx, cancel := context.WithTimeout(ctx, orDefault(r.Timeout, 2*time.Minute))
	defer cancel()
	select {
	case err = <-done:
	case <-tctx.Done():
		_ = proc.SignalGroup(ph.pgid, syscall.SIGKILL)
		<-done
		err = fmt.Errorf("did not finish: %w", tctx.Err())
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("exited with status %d", ee.ExitCode())
		}
		return ph, &RunbookError{Phase: phase, Log: logPath, Err: err}
	}
	return ph, nil
}

// phaseRun is what a runbook phase leaves once its script has exited.
type phaseRun struct {
	pgid int
	// out is the read end of the phase's output pipe; copied is closed
	// when its copy has ended and the log is closed.
	out    *os.File
	copied chan struct{}
}

// copyWait bounds the wait for the end of a phase's output once its process
// group is gone: a process outside the group may still hold the pipe.
const copyWait = 2 * time.Second

// end ends what is left of the phase: its process group, then the copy of
// its output, which ends when the last holder of the pipe is gone, or after
// copyWait (or ctx) when the copy stops reading. Its log is complete then.
func (p *phaseRun) end(ctx context.Context) error {
	err := endGroup(ctx, p.pgid)
	if p.copied == nil {
		return err
	}
	t := time.NewTimer(copyWait)
	defer t.Stop()
	select {
	case <-p.copied:
		return err
	case <-t.C:
	case <-ctx.Done():
	}
	p.out.Close() // a pending Read returns at once
	<-p.copied
	return err
}

// endGroup ends what is left of a runbook's process group: SIGTERM, then
// SIGKILL after a grace period.
func endGroup(ctx context.Context, pgid int) error {
	if pgid == 0 {
		return nil
	}
	if err := proc.SignalGroup(pgid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("end runbook processes: %w", err)
	}
	grace := time.After(5 * time.Second)
	for proc.GroupAlive(pgid) {
		select {
		case <-grace:
			return proc.SignalGroup(pgid, syscall.SIGKILL)
		case <-ctx.Done():
			return proc.SignalGroup(pgid, syscall.SIGKILL)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func mustVersion(b bins.Binaries) string {
	v, err := b.Version()
	if err != nil {
		return "unknown"
	}
	return v
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
