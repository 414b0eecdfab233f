// Package backend defines what a cluster backend provides: members that can be
// started on a data dir, killed at once, stopped gracefully and watched for exits.
// A backend knows nothing of faults or recovery procedures.
package backend

import (
	"context"
	"time"
)

// Caps says what a backend can do, so a scenario that needs more is refused up
// front instead of failing half-way.
type Caps struct {
	// HardKill: Kill takes effect at once, with no graceful shutdown.
	HardKill bool
	// Restart: a killed or stopped member can start again on its data dir.
	Restart bool
	// Pause: a member can be frozen and resumed.
	Pause bool
	// Partition: a member's network can be cut and healed.
	Partition bool
	// SurvivesMemberPanic: a member that panics dies alone; the harness goes on.
	SurvivesMemberPanic bool
}

// ClusterState is etcd's --initial-cluster-state.
type ClusterState string

const (
	StateNew      ClusterState = "new"
	StateExisting ClusterState = "existing"
)

// Timing holds raft timing for members; loopback clusters can run much faster
// than etcd's defaults (100 ms heartbeat, 1 s election).
type Timing struct {
	Heartbeat time.Duration
	Election  time.Duration
}

// MemberSpec is everything needed to start one member.
type MemberSpec struct {
	Name      string
	DataDir   string
	LogPath   string
	ClientURL string
	// PeerURL is the peer URL the member advertises. ListenPeerURL, if set,
	// is where it really listens: a proxy at PeerURL forwards to it, so the
	// harness can cut the member's peer traffic.
	PeerURL       string
	ListenPeerURL string
	// InitialCluster is name=peerURL,... and Token the initial-cluster-token;
	// both are ignored by etcd when DataDir already holds a member.
	InitialCluster string
	Token          string
	State          ClusterState
	// ForceNewCluster starts the member as a one-member cluster keeping its data.
	ForceNewCluster bool
	Timing          Timing
	// NoFsync trades durability for speed (etcd's --unsafe-no-fsync).
	NoFsync bool
	// MaxLogBytes is the budget of the member's log, per run of the member
	// (see logs.Capped): 0 means logs.DefaultMaxBytes; negative means no cap.
	MaxLogBytes int64
	// Version is the etcd version (X.Y.Z) the member runs; empty means the
	// backend's own (EtcdVersion). A backend that cannot run it refuses
	// Start.
	Version string
}

// Exit describes how a member ended.
type Exit struct {
	// Killed: ended by Kill. Otherwise by Stop, or by itself.
	Killed bool
	// Err is the member's own error, if it ended by itself.
	Err error
	// Code is the process exit code, where there is a process (-1 otherwise).
	Code int
	// Panic is the member's panic message, if it panicked, and PanicCaller
	// where in etcd it panicked.
	Panic       string
	PanicCaller string
	At          time.Time
}

// Member is one running etcd member.
type Member interface {
	Name() string
	ClientURL() string
	PeerURL() string
	DataDir() string
	LogPath() string
	// Kill ends the member at once: when Kill returns, the member serves no
	// client and takes no part in raft. Releasing its resources may go on in
	// the background; Wait waits for that.
	Kill() error
	// Stop ends the member gracefully within ctx.
	Stop(ctx context.Context) error
	// Exited is closed when the member has ended (killed, stopped or by
	// itself); ExitStatus then says how.
	Exited() <-chan struct{}
	ExitStatus() Exit
	// Wait blocks until the member has released everything it held (files,
	// ports, goroutines), or ctx ends.
	Wait(ctx context.Context) error
}

// Pauser is a member that can be frozen and resumed (Caps.Pause).
type Pauser interface {
	Pause() error
	Resume() error
}

// Layouter is a backend whose members see other URLs than the harness lays
// out on loopback (containers: their hostnames on the drill's network). Its
// Layout rewrites the specs of a new cluster before any restore or start.
type Layouter interface {
	Layout(specs []MemberSpec) []MemberSpec
}

// Partitioner is a backend that can cut a member off the network itself
// (containers: disconnect from the drill's network) and heal it.
type Partitioner interface {
	Isolate(ctx context.Context, m Member) error
	Heal(ctx context.Context, m Member) error
}

// Backend starts members.
type Backend interface {
	Name() string
	Caps() Caps
	// EtcdVersion is the version of etcd the members run.
	EtcdVersion() string
	// Start starts a member and returns once it is listening; it does not
	// wait for the cluster to have a leader.
	Start(ctx context.Context, spec MemberSpec) (Member, error)
	// Close releases what the backend itself holds.
	Close(ctx context.Context) error
}

// ListenPeer is where the member of s listens for peers.
func (s MemberSpec) ListenPeer() string {
	if s.ListenPeerURL != "" {
		return s.ListenPeerURL
	}
	return s.PeerURL
}
