// Package process runs each etcd member as a real child process of the
// pinned etcd binary, in its own process group, with its own log file. A
// member can crash for real here, and its panic is read from its log.
package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/logs"
	"github.com/etcd-drill/etcd-drill/harness/proc"
)

// Backend starts etcd processes.
type Backend struct {
	bins    bins.Binaries
	version string
	// find finds the binaries of a member's other version (nil: none
	// runs).
	find func(version string) (bins.Binaries, error)
	sp   *proc.Spawner

	members backend.Roster[*member]
}

// New returns a process backend running the binaries in b.
func New(b bins.Binaries) (*Backend, error) {
	v, err := b.Version()
	if err != nil {
		return nil, err
	}
	return &Backend{bins: b, version: v, sp: proc.NewSpawner()}, nil
}

// WithVersions lets members run other etcd versions than b's
// (MemberSpec.Version), whose binaries find finds.
func (b *Backend) WithVersions(find func(version string) (bins.Binaries, error)) *Backend {
	b.find = find
	return b
}

// etcdFor is the etcd binary a member of spec runs.
func (b *Backend) etcdFor(spec backend.MemberSpec) (string, error) {
	if spec.Version == "" || spec.Version == b.version {
		return b.bins.Etcd, nil
	}
	if b.find == nil {
		return "", fmt.Errorf("member %s: this process backend runs etcd %s only, not %s", spec.Name, b.version, spec.Version)
	}
	vb, err := b.find(spec.Version)
	if err != nil {
		return "", fmt.Errorf("member %s: %w", spec.Name, err)
	}
	return vb.Etcd, nil
}

// EtcdVersion is what the etcd binary says of itself.
func (b *Backend) EtcdVersion() string { return b.version }

func (*Backend) Name() string { return "process" }

func (*Backend) Caps() backend.Caps { return Caps() }

// Caps is what a process backend can do.
func Caps() backend.Caps {
	return backend.Caps{HardKill: true, Restart: true, Pause: true, Partition: true, SurvivesMemberPanic: true}
}

// Binaries are the etcd tools this backend runs.
func (b *Backend) Binaries() bins.Binaries { return b.bins }

// readyTimeout bounds how long Start waits for a member's peer server.
const readyTimeout = 30 * time.Second

// Start starts one member and returns once its peer server answers (etcd
// serves peers only after its bootstrap), or once it has exited.
func (b *Backend) Start(ctx context.Context, spec backend.MemberSpec) (backend.Member, error) {
	if b.members.Closed() {
		return nil, errors.New("process backend is closed")
	}
	// The member's output goes through a pipe that exec copies into a
	// capped writer: a member stuck logging in a loop cannot fill the disk.
	etcd, err := b.etcdFor(spec)
	if err != nil {
		return nil, err
	}
	logw, err := logs.OpenCapped(spec.LogPath, logs.Budget(spec.MaxLogBytes))
	if err != nil {
		return nil, fmt.Errorf("log of member %s: %w", spec.Name, err)
	}
	cmd := exec.Command(etcd, Args(spec)...)
	// One writer for both: exec gives the child one pipe for them.
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := b.sp.Start(cmd); err != nil {
		logw.Close()
		return nil, fmt.Errorf("start member %s: %w", spec.Name, err)
	}
	// A restarted member appends to its log: its own run starts at the
	// writer's offset.
	m := &member{Described: backend.Described{Spec: spec}, Ending: backend.NewEnding(), cmd: cmd, logw: logw, logOffset: logw.Offset()}
	b.members.Add(m)
	go m.wait()
	if err := backend.WaitPeerServing(ctx, readyTimeout, m.Exited(), m.Spec.ListenPeer); err != nil {
		m.Kill()
		return nil, fmt.Errorf("start member %s: %w", spec.Name, err)
	}
	return m, nil
}

// Args are the etcd flags of a member: it listens where it advertises.
func Args(s backend.MemberSpec) []string {
	return backend.Flags(s, backend.Listen{DataDir: s.DataDir, ClientURL: s.ClientURL, PeerURL: s.ListenPeer()})
}

// Close kills every member still running, waits until each is reaped and
// ends the spawner.
func (b *Backend) Close(ctx context.Context) error {
	first, err := b.members.Close(func(m *member) error { return m.Wait(ctx) })
	if first {
		b.sp.Close()
	}
	return err
}

type member struct {
	backend.Described
	*backend.Ending
	cmd  *exec.Cmd
	logw *logs.Capped
	// logOffset is where this run's output starts in the log file.
	logOffset int64

	mu     sync.Mutex
	killed bool
	// stopped: Stop sent SIGTERM, so dying of it is no error of the member's.
	stopped bool
}

// Pid is the member's process id.
func (m *member) Pid() int { return m.cmd.Process.Pid }

// wait reaps the process and reads its panic, if any, from its log.
func (m *member) wait() {
	// Wait returns once the process is reaped and exec has copied all its
	// output; closing the writer then puts the capped log's tail, where a
	// panic is, in the file before it is read.
	err := m.cmd.Wait()
	m.logw.Close()
	x := backend.Exit{Code: -1, At: time.Now()}
	if st, ok := m.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && st.Exited() {
		x.Code = st.ExitStatus()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		x.Err = err
	} else if err != nil {
		x.Err = fmt.Errorf("member %s: %s", m.Spec.Name, m.cmd.ProcessState)
	}
	if p, ok := backend.ParsePanicFile(m.Spec.LogPath, m.logOffset); ok {
		x.Panic, x.PanicCaller = p.Message, p.Caller
	}
	m.mu.Lock()
	x.Killed = m.killed
	// etcd ends a graceful stop by raising SIGTERM again on itself.
	st, _ := m.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if x.Killed || m.stopped && st.Signaled() && st.Signal() == syscall.SIGTERM {
		x.Err = nil
	}
	m.mu.Unlock()
	m.End(x)
}

func (m *member) signal(sig syscall.Signal) error {
	select {
	case <-m.Exited():
		return nil
	default:
	}
	// The whole process group: etcd and anything it may have started.
	if err := proc.SignalGroup(m.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal %v to member %s: %w", sig, m.Spec.Name, err)
	}
	return nil
}

// killWait bounds how long Kill waits for the kernel to reap a killed member.
const killWait = 10 * time.Second

// end notes why the member is about to end (flag: killed or stopped, so
// wait does not take the signal for the member's own error), then sends it
// sig.
func (m *member) end(flag *bool, sig syscall.Signal) error {
	m.mu.Lock()
	*flag = true
	m.mu.Unlock()
	return m.signal(sig)
}

// Kill sends SIGKILL and returns once the process is gone.
func (m *member) Kill() error {
	if err := m.end(&m.killed, syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-m.Exited():
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("member %s still running %v after SIGKILL", m.Spec.Name, killWait)
	}
}

// Stop sends SIGTERM, and SIGKILL if the member has not ended when ctx does.
func (m *member) Stop(ctx context.Context) error {
	if err := m.end(&m.stopped, syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-m.Exited():
		return nil
	case <-ctx.Done():
		if err := m.Kill(); err != nil {
			return err
		}
		return fmt.Errorf("stop member %s: killed after %w", m.Spec.Name, ctx.Err())
	}
}

// Pause freezes the member (SIGSTOP); Resume lets it go on (SIGCONT).
// Pause sends SIGSTOP and returns once the kernel has stopped the member
// (a signal is delivered when the process is next scheduled: a request sent
// right after kill(2) could still be served).
func (m *member) Pause() error {
	if err := m.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	deadline := time.Now().Add(pauseWait)
	for !stopped(m.cmd.Process.Pid) {
		select {
		case <-m.Exited():
			return fmt.Errorf("pause member %s: it exited", m.Spec.Name)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pause member %s: not stopped %v after SIGSTOP", m.Spec.Name, pauseWait)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// pauseWait bounds how long Pause waits for the kernel to stop a member.
const pauseWait = 5 * time.Second

// stopped says whether /proc shows process pid stopped by a signal (state
// T).
func stopped(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ")".
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'T'
}

func (m *member) Resume() error { return m.signal(syscall.SIGCONT) }

// Wait blocks until the process has been reaped (it is, before the member
// is told ended).
func (m *member) Wait(ctx context.Context) error { return m.AwaitEnd(ctx, m.Spec.Name) }

var _ backend.Member = (*member)(nil)
