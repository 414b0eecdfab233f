// Package external stands for members that someone else started (an
// operator's runbook): the harness knows their URLs and data dirs, and finds
// their processes by the ports they listen on, to end them after the drill.
package external

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/proc"
	"github.com/etcd-drill/etcd-drill/harness/sockets"
)

// Backend is the stand-in backend of external members: it starts nothing.
type Backend struct {
	name    string
	version string
}

// New returns a backend named name (the runbook, say) running etcd version.
func New(name, version string) *Backend { return &Backend{name: name, version: version} }

func (b *Backend) Name() string        { return b.name }
func (b *Backend) EtcdVersion() string { return b.version }

// Caps: external members can be ended, not restarted.
func (*Backend) Caps() backend.Caps { return backend.Caps{HardKill: true} }

func (*Backend) Close(context.Context) error { return nil }

// Start cannot start an external member; Attach one instead.
func (b *Backend) Start(context.Context, backend.MemberSpec) (backend.Member, error) {
	return nil, fmt.Errorf("%s: members are started by the %s, not by the harness", b.name, b.name)
}

// Attach returns a member for spec, started by someone else.
func Attach(spec backend.MemberSpec) backend.Member {
	return &member{Described: backend.Described{Spec: spec}, Ending: backend.NewEnding()}
}

type member struct {
	backend.Described
	*backend.Ending
}

// pids are the processes listening on the member's ports.
func (m *member) pids() ([]int, error) {
	return sockets.Listeners(sockets.PortOf(m.Spec.ClientURL), sockets.PortOf(m.Spec.PeerURL))
}

func (m *member) end(ctx context.Context, sig syscall.Signal) error {
	select {
	case <-m.Exited():
		return nil
	default:
	}
	pids, err := m.pids()
	if err != nil {
		return fmt.Errorf("find member %s: %w", m.Spec.Name, err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal member %s (pid %d): %w", m.Spec.Name, pid, err)
		}
	}
	for _, pid := range pids {
		if err := waitGone(ctx, pid); err != nil {
			return fmt.Errorf("member %s: %w", m.Spec.Name, err)
		}
	}
	// A killed process is a zombie as soon as its main thread has exited;
	// its other threads may still hold its sockets for a moment.
	if err := m.waitUnbound(ctx); err != nil {
		return err
	}
	m.End(backend.Exit{Killed: sig == syscall.SIGKILL, Code: -1, At: time.Now()})
	return nil
}

// Kill sends SIGKILL to the processes listening on the member's ports and
// waits until they are gone.
func (m *member) Kill() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.end(ctx, syscall.SIGKILL)
}

// Stop sends SIGTERM, then SIGKILL if ctx ends first.
func (m *member) Stop(ctx context.Context) error {
	if err := m.end(ctx, syscall.SIGTERM); err != nil {
		if kerr := m.Kill(); kerr != nil {
			return kerr
		}
		return err
	}
	return nil
}

// Wait returns once the member has been ended by Kill or Stop.
func (m *member) Wait(ctx context.Context) error { return m.AwaitEnd(ctx, m.Spec.Name) }

// waitGone polls until pid no longer runs (or is a zombie for someone else
// to reap).
func waitGone(ctx context.Context, pid int) error {
	for {
		if syscall.Kill(pid, 0) != nil || proc.Zombie(pid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pid %d still running: %w", pid, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitUnbound polls until nothing listens on the member's ports any more.
func (m *member) waitUnbound(ctx context.Context) error {
	for {
		busy, err := sockets.Listening(sockets.PortOf(m.Spec.ClientURL), sockets.PortOf(m.Spec.PeerURL))
		if err != nil {
			return fmt.Errorf("member %s: %w", m.Spec.Name, err)
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("member %s: its ports are still bound: %w", m.Spec.Name, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
