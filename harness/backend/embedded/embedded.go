// Package embedded runs etcd members in this process with embed.Etcd: no
// binaries, no containers. A member cannot crash for real here: a panic in any
// member ends the whole process, so scenarios that make members panic are not
// for this backend.
package embedded

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/version"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/logs"
	"github.com/etcd-drill/etcd-drill/harness/sockets"
)

// Backend starts embed.Etcd members.
type Backend struct{}

// New returns the embedded backend.
func New() *Backend { return &Backend{} }

func (*Backend) Name() string { return "embedded" }

func (*Backend) Caps() backend.Caps {
	return backend.Caps{HardKill: true, Restart: true, Partition: true}
}

func (*Backend) Close(context.Context) error { return nil }

// EtcdVersion is the version of the etcd server module linked in.
func (*Backend) EtcdVersion() string { return version.Version }

// Start starts one member and returns when it listens.
func (b *Backend) Start(ctx context.Context, spec backend.MemberSpec) (backend.Member, error) {
	if spec.Version != "" && spec.Version != version.Version {
		return nil, fmt.Errorf("member %s: the embedded backend runs the etcd linked in (%s), not %s", spec.Name, version.Version, spec.Version)
	}
	lg, closeLog, err := logs.ToFile(spec.LogPath, spec.MaxLogBytes)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", spec.Name, err)
	}
	cfg, err := config(spec, lg)
	if err != nil {
		closeLog()
		return nil, fmt.Errorf("configure member %s: %w", spec.Name, err)
	}
	type started struct {
		e   *embed.Etcd
		err error
	}
	ch := make(chan started, 1)
	go func() {
		e, err := embed.StartEtcd(cfg)
		ch <- started{e, err}
	}()
	var s started
	select {
	case s = <-ch:
	case <-ctx.Done():
		// StartEtcd cannot be cancelled, and a half-started member must not
		// outlive its data dir: wait for it (bounded by etcd's own bootstrap
		// timeouts), then close it. Close waits until the member is ready
		// (published through raft) before it stops serving, and one without
		// quorum never is: stop its server first.
		if s = <-ch; s.e != nil {
			s.e.Server.HardStop()
			s.e.Close()
		}
		closeLog()
		return nil, fmt.Errorf("start member %s: %w", spec.Name, ctx.Err())
	}
	if s.err != nil {
		closeLog()
		return nil, fmt.Errorf("start member %s: %w", spec.Name, s.err)
	}
	m := &member{
		Described: backend.Described{Spec: spec},
		Ending:    backend.NewEnding(),
		e:         s.e,
		closeLog:  closeLog,
		released:  make(chan struct{}),
	}
	go m.watch(s.e.Server.StopNotify(), s.e.Err())
	return m, nil
}

func config(spec backend.MemberSpec, lg *zap.Logger) (*embed.Config, error) {
	curl, err := url.Parse(spec.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("client url %q: %w", spec.ClientURL, err)
	}
	purl, err := url.Parse(spec.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("peer url %q: %w", spec.PeerURL, err)
	}
	lpurl, err := url.Parse(spec.ListenPeer())
	if err != nil {
		return nil, fmt.Errorf("listen peer url %q: %w", spec.ListenPeer(), err)
	}
	cfg := embed.NewConfig()
	cfg.Name = spec.Name
	cfg.Dir = spec.DataDir
	cfg.ListenClientUrls = []url.URL{*curl}
	cfg.AdvertiseClientUrls = []url.URL{*curl}
	cfg.ListenPeerUrls = []url.URL{*lpurl}
	cfg.AdvertisePeerUrls = []url.URL{*purl}
	cfg.InitialCluster = spec.InitialCluster
	if cfg.InitialCluster == "" {
		cfg.InitialCluster = spec.Name + "=" + spec.PeerURL
	}
	cfg.InitialClusterToken = spec.Token
	cfg.ClusterState = string(spec.State)
	if spec.State == "" {
		cfg.ClusterState = embed.ClusterStateFlagNew
	}
	cfg.ForceNewCluster = spec.ForceNewCluster
	if spec.Timing.Heartbeat > 0 {
		cfg.TickMs = uint(spec.Timing.Heartbeat / time.Millisecond)
	}
	if spec.Timing.Election > 0 {
		cfg.ElectionMs = uint(spec.Timing.Election / time.Millisecond)
	}
	cfg.UnsafeNoFsync = spec.NoFsync
	cfg.EnableGRPCGateway = false
	cfg.Logger = "zap"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	return cfg, nil
}

type member struct {
	backend.Described
	*backend.Ending
	e        *embed.Etcd
	closeLog func()

	mu       sync.Mutex
	ending   bool // Kill or Stop has begun
	released chan struct{}
	once     sync.Once
}

// watch notices a member that ends by itself (a fatal server error).
func (m *member) watch(stopped <-chan struct{}, errs <-chan error) {
	var err error
	select {
	case <-stopped:
	case err = <-errs:
	}
	if !m.begin() {
		return
	}
	m.End(backend.Exit{Err: err, Code: -1, At: time.Now()})
	m.release()
}

// begin marks the member as ending; it returns false if it already was.
func (m *member) begin() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ending {
		return false
	}
	m.ending = true
	return true
}

// release closes the embedded server and the log file, once, in the background.
func (m *member) release() {
	m.once.Do(func() {
		go func() {
			m.e.Close()
			m.closeLog()
			// A member that ended is not started again: let its store,
			// index and raft log go (a million keys are hundreds of MB
			// in this process).
			m.mu.Lock()
			m.e = nil
			m.mu.Unlock()
			close(m.released)
		}()
	})
}

// Kill cuts the member off at once: no new client or peer connection is
// accepted and the raft loop is stopped without a leadership transfer, which
// also stops its peer transport. The graceful close of everything else
// (1 to 2 s for gRPC servers and peer handlers) runs in the background.
func (m *member) Kill() error {
	if !m.begin() {
		return nil
	}
	for _, l := range m.e.Clients {
		l.Close()
	}
	for _, p := range m.e.Peers {
		p.Listener.Close()
	}
	m.e.Server.HardStop()
	// Established connections die with a killed process; cut them too.
	_, _ = sockets.CutOwn(sockets.PortOf(m.Spec.ClientURL), sockets.PortOf(m.Spec.ListenPeer()))
	m.End(backend.Exit{Killed: true, Code: -1, At: time.Now()})
	m.release()
	return nil
}

// Stop closes the member gracefully, as etcd does on SIGTERM.
func (m *member) Stop(ctx context.Context) error {
	if !m.begin() {
		return m.Wait(ctx)
	}
	m.release()
	if err := m.Wait(ctx); err != nil {
		return fmt.Errorf("stop member %s: %w", m.Spec.Name, err)
	}
	m.End(backend.Exit{Code: -1, At: time.Now()})
	return nil
}

// Wait blocks until the member has closed its server, files and ports.
func (m *member) Wait(ctx context.Context) error {
	select {
	case <-m.released:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for member %s to close: %w", m.Spec.Name, ctx.Err())
	}
}

var _ backend.Member = (*member)(nil)
