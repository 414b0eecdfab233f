package backend

import "sync"

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
type Roster[M any] struct {
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

// Close closes the roster and returns its members; only the first call
// does (ok), later ones return nothing.
func (r *Roster[M]) Close() (ms []M, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, false
	}
	r.closed = true
	return r.members, true
}
