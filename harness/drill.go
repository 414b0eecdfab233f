package harness

import (
	"context"
	"fmt"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/logs"
	"github.com/etcd-drill/etcd-drill/harness/ports"
)

// Snapshot is the backup taken during a drill.
type Snapshot struct {
	Path     string
	Member   string
	Revision int64
	Size     int64
	Hash     uint32
	Keys     int
	// Copied: a copy of member/snap/db, with no integrity hash.
	Copied bool
	// HashChecked: a restore verified the snapshot's integrity hash.
	HashChecked bool
	// Taken: no write sent after it can be in the backup (set by the drill
	// when the backup returned, or when the member a db was copied from was
	// confirmed dead).
	Taken time.Time
}

// Effect says what a fault did, to whom, and what it left behind.
type Effect struct {
	Fault   string
	Members []string
	At      time.Time
	// InForce is how long the fault took to take effect.
	InForce time.Duration
	// QuorumLost is set by the fault's confirmation.
	QuorumLost bool
	Detail     string
	// Started is a cluster the fault started itself (a member restarted by
	// hand), for what watches it; the drill closes it with the others.
	Started *Cluster
}

// MemberState is what a member reported of itself (etcd's Status) at one
// moment: its keyspace revision and its applied raft index.
type MemberState struct {
	Revision int64
	Applied  uint64
}

// Hazard is a dangerous outcome of an operator's mistake, found and named.
type Hazard struct {
	Name   string
	Detail string
}

// Hop is one version on an upgrade's path, with its binaries (its etcdctl
// drives a downgrade).
type Hop struct {
	Version string
	Bins    bins.Binaries
}

// Drill is what the steps of one drill share: the run directory, ports,
// backend and raft timing, and the clusters started in it, which Close ends.
// It holds no step's results: each step returns what it did, and the
// scenario runner alone keeps them.
type Drill struct {
	// RunDir holds every member's data dir and log, the snapshot and the
	// recovery's files.
	RunDir  string
	Ports   *ports.Allocator
	Backend backend.Backend
	Timing  backend.Timing
	NoFsync bool
	// PeerProxies lays out clusters with a proxy in front of every peer
	// listener (for faults that cut peer traffic).
	PeerProxies bool
	// MaxLogBytes caps each member log (0: the default).
	MaxLogBytes int64
	// Size is the number of members of the cluster under test.
	Size int
	// Token is the original cluster's initial-cluster-token.
	Token string
	// Version is the etcd version of the members of every cluster planned
	// from now on (empty: the backend's own); a cross-version restore sets
	// it, with Tools, before the recovery.
	Version string
	// Path is the versions an upgrade or downgrade takes the cluster
	// through, the first its own (empty: none); HopWrites is the writes
	// to have acknowledged after each hop before its check.
	Path      []Hop
	HopWrites int
	// MigrateWith, if set, is the etcdutl that migrates every restored
	// data dir's storage to MigrateTo (X.Y) before it starts: the way down
	// to an older minor line that checks the storage version (3.6 and on).
	MigrateWith *bins.Binaries
	MigrateTo   string
	// Auth, if set, is the drill's authentication (--auth): every cluster
	// started or tracked from then on is reached as its users.
	Auth *Auth
	// Tools, if set, are the etcdctl and etcdutl that save, read and
	// restore snapshots: those of the version the members run, when it is
	// not the one linked in. Nil: the linked etcd libraries.
	Tools *bins.Binaries

	clusters []*Cluster
	onClose  []func(ctx context.Context) error
	// failedLogs are the logs of members whose cluster failed to start.
	failedLogs []string
}

// FailedStartLogs are the logs of members whose cluster failed to start
// (StartMembers killed them): where to look when a start hangs.
func (d *Drill) FailedStartLogs() []string { return append([]string(nil), d.failedLogs...) }

// AllWrites as a baseline revision: every acknowledged write must be in the
// keyspace.
const AllWrites = int64(1<<63 - 1)

// NewDrill makes a run directory under base (the system temp dir if empty).
func NewDrill(base string, be backend.Backend, size int) (*Drill, error) {
	dir, err := os.MkdirTemp(base, "etcd-drill-")
	if err != nil {
		return nil, fmt.Errorf("make run directory: %w", err)
	}
	return &Drill{
		RunDir:  dir,
		Ports:   ports.New(),
		Backend: be,
		Size:    size,
		Token:   filepath.Base(dir),
	}, nil
}

// Layout says which members Drill.Plan lays out: Size members named
// Prefix<First>, Prefix<First+1>, ... under RunDir/Dir, bootstrapped with
// initial-cluster-token Token. The drill supplies the rest (ports, raft
// timing, NoFsync, PeerProxies, MaxLogBytes).
type Layout struct {
	// Prefix starts every member's name.
	Prefix string
	// First is the number of the first member (0: 1).
	First int
	// Dir is the folder under RunDir that holds the members' data dirs and
	// logs.
	Dir string
	// Token is the initial-cluster-token.
	Token string
	// Size is the number of members, 1 to MaxMembers.
	Size int
	// Host lays the members out to run on this host, whatever the backend
	// (an operator's runbook starts etcd here): the backend's
	// backend.Layouter rewrite is skipped.
	Host bool
}

// Plan reserves ports from Ports for the members l names, makes the folder
// RunDir/l.Dir, and returns their specs (with State new and an
// --initial-cluster of all of them), rewritten by the backend if it is a
// backend.Layouter and l.Host is not set; nothing runs. The ports stay
// reserved until Close.
func (d *Drill) Plan(l Layout) ([]backend.MemberSpec, error) {
	cs := ClusterSpec{
		Size:        l.Size,
		NamePrefix:  l.Prefix,
		First:       l.First,
		Dir:         filepath.Join(d.RunDir, l.Dir),
		Token:       l.Token,
		Timing:      d.Timing,
		NoFsync:     d.NoFsync,
		PeerProxies: d.PeerProxies,
		MaxLogBytes: d.MaxLogBytes,
		Version:     d.Version,
	}
	specs, err := Plan(d.Ports, cs)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cs.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("make cluster directory: %w", err)
	}
	if lo, ok := d.Backend.(backend.Layouter); ok && !l.Host {
		specs = lo.Layout(specs)
	}
	return specs, nil
}

// StartCluster lays out the members l names (see Plan) and starts them (see
// StartMembers).
func (d *Drill) StartCluster(ctx context.Context, l Layout) (*Cluster, error) {
	specs, err := d.Plan(l)
	if err != nil {
		return nil, err
	}
	return d.StartMembers(ctx, specs)
}

// StartMembers starts members from specs laid out beforehand by Plan
// (restored data dirs, say), waits until they are healthy (see Start) and
// tracks them for Close; the cluster's Ports is the drill's. If they do not
// start, their logs are kept for FailedStartLogs.
func (d *Drill) StartMembers(ctx context.Context, specs []backend.MemberSpec) (*Cluster, error) {
	c, err := StartAs(ctx, d.Backend, d.Ports, specs, d.Auth)
	if err != nil {
		for _, s := range specs {
			d.failedLogs = append(d.failedLogs, s.LogPath)
		}
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	d.clusters = append(d.clusters, c)
	return c, nil
}

// Clusters returns every cluster the drill started, in order.
func (d *Drill) Clusters() []*Cluster { return append([]*Cluster(nil), d.clusters...) }

// OnClose makes Close call f, after it has killed every cluster; for what a
// step started that no cluster owns (a runbook's processes).
func (d *Drill) OnClose(f func(ctx context.Context) error) { d.onClose = append(d.onClose, f) }

// Track makes Close end c too, and its clients authenticate as the drill's
// users.
func (d *Drill) Track(c *Cluster) {
	if d.Auth != nil {
		c.SetAuth(d.Auth)
	}
	d.clusters = append(d.clusters, c)
}

// Logger returns a logger writing to RunDir/name.log, and a function that
// closes it.
func (d *Drill) Logger(name string) (*zap.Logger, func(), error) {
	return logs.ToFile(filepath.Join(d.RunDir, name+".log"), d.MaxLogBytes)
}

// Close ends every cluster of the drill, gives back its ports and, unless
// keep, removes the run directory.
func (d *Drill) Close(ctx context.Context, keep bool) error {
	var errs []error
	// Kill everything first so that members release in parallel: an embedded
	// member takes up to a second to close its peer server.
	for _, c := range d.clusters {
		if err := c.Kill(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range d.onClose {
		if err := f(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	d.onClose = nil
	for _, c := range d.clusters {
		if err := c.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	d.clusters = nil
	// A member that did not close may still hold its ports: keep them
	// locked (until this process ends) rather than hand them to another drill.
	if len(errs) == 0 {
		d.Ports.ReleaseAll()
	}
	if err := d.Backend.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("close backend: %w", err))
	}
	if !keep {
		if err := os.RemoveAll(d.RunDir); err != nil {
			errs = append(errs, fmt.Errorf("remove run directory: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("clean up drill: %v", errs)
	}
	return nil
}
