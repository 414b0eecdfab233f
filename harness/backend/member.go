package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Described answers a member's descriptive methods (Name, ClientURL,
// PeerURL, DataDir, LogPath) from the spec it was started with. Backends
// embed it; one whose members are reached elsewhere (published container
// ports) overrides the method.
type Described struct{ Spec MemberSpec }

func (d Described) Name() string      { return d.Spec.Name }
func (d Described) ClientURL() string { return d.Spec.ClientURL }
func (d Described) PeerURL() string   { return d.Spec.PeerURL }
func (d Described) DataDir() string   { return d.Spec.DataDir }
func (d Described) LogPath() string   { return d.Spec.LogPath }

// Ending is how a member ended, told once (Member's Exited and
// ExitStatus). Backends embed a *Ending made by NewEnding.
type Ending struct {
	mu     sync.Mutex
	exit   Exit
	exited chan struct{}
}

// NewEnding returns an Ending for a member that has not ended.
func NewEnding() *Ending { return &Ending{exited: make(chan struct{})} }

// Exited is closed when the member has ended.
func (e *Ending) Exited() <-chan struct{} { return e.exited }

// ExitStatus says how the member ended (the zero Exit before it has).
func (e *Ending) ExitStatus() Exit {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.exit
}

// AwaitEnd blocks until the member named name has ended, or ctx ends.
// Backends whose members release everything as they end answer Member's
// Wait with it.
func (e *Ending) AwaitEnd(ctx context.Context, name string) error {
	select {
	case <-e.exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for member %s to end: %w", name, ctx.Err())
	}
}

// End records x and closes Exited. Only the first call counts: it returns
// whether this one did.
func (e *Ending) End(x Exit) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.exited:
		return false
	default:
	}
	e.exit = x
	close(e.exited)
	return true
}

// Roster is the members a backend started, until the backend closes. The
// zero Roster is empty and open.
type Roster[M Member] struct {
	mu      sync.Mutex
	closed  bool
	members []M
}

// Closed says whether Close has been called.
func (r *Roster[M]) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Add records a member the backend started.
func (r *Roster[M]) Add(m M) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.members = append(r.members, m)
}

// Close closes the roster and ends its members: it kills every one still
// running, then releases each with release (what the backend holds for it:
// its process reaped, its container removed) and joins their errors. Only
// the first call does so (first); later ones do nothing.
func (r *Roster[M]) Close(release func(M) error) (first bool, err error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false, nil
	}
	r.closed = true
	ms := r.members
	r.mu.Unlock()
	var errs []error
	for _, m := range ms {
		// A member that fails to die is still released.
		if err := m.Kill(); err != nil {
			errs = append(errs, fmt.Errorf("kill member %s: %w", m.Name(), err))
		}
	}
	for _, m := range ms {
		if err := release(m); err != nil {
			errs = append(errs, err)
		}
	}
	return true, errors.Join(errs...)
}
