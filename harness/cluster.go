// Package harness holds what a drill runs on: clusters of members started by a
// backend, the run directory, and the state handed from step to step.
package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/etcd-drill/etcd-drill/harness/logs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/pkg/v3/proxy"
	"go.uber.org/zap"

	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/ports"
	"github.com/etcd-drill/etcd-drill/harness/report"
)

// ClusterSpec says how to lay out a cluster.
type ClusterSpec struct {
	// Size is the number of members, 1 to 9.
	Size int
	// NamePrefix names members prefix1, prefix2, ... (from First, default 1).
	NamePrefix string
	First      int
	// Dir is the folder that holds the members' data dirs and logs.
	Dir string
	// Token is the initial-cluster-token.
	Token   string
	Timing  backend.Timing
	NoFsync bool
	// PeerProxies puts a proxy in front of every member's peer listener, so
	// the harness can cut (Isolate) and heal peer traffic.
	PeerProxies bool
	// MaxLogBytes caps each member's log (0: the default).
	MaxLogBytes int64
	// Version is the etcd version the members run (empty: the backend's).
	Version string
}

// MaxMembers is the largest cluster a drill runs.
const MaxMembers = 9

// Plan reserves ports and lays out the member specs of a new cluster; nothing
// is started and nothing is written to disk.
func Plan(alloc *ports.Allocator, cs ClusterSpec) ([]backend.MemberSpec, error) {
	if cs.Size < 1 || cs.Size > MaxMembers {
		return nil, fmt.Errorf("cluster size %d: must be 1 to %d", cs.Size, MaxMembers)
	}
	per := 2
	if cs.PeerProxies {
		per = 3
	}
	ps, err := alloc.Reserve(per * cs.Size)
	if err != nil {
		return nil, fmt.Errorf("plan cluster %s: %w", cs.NamePrefix, err)
	}
	specs := make([]backend.MemberSpec, cs.Size)
	var ic []string
	first := max(cs.First, 1)
	for i := range specs {
		name := cs.NamePrefix + strconv.Itoa(first+i)
		specs[i] = backend.MemberSpec{
			Name:        name,
			DataDir:     filepath.Join(cs.Dir, name+".etcd"),
			LogPath:     filepath.Join(cs.Dir, name+".log"),
			ClientURL:   "http://127.0.0.1:" + strconv.Itoa(ps[per*i]),
			PeerURL:     "http://127.0.0.1:" + strconv.Itoa(ps[per*i+1]),
			Token:       cs.Token,
			State:       backend.StateNew,
			Timing:      cs.Timing,
			NoFsync:     cs.NoFsync,
			MaxLogBytes: cs.MaxLogBytes,
			Version:     cs.Version,
		}
		if cs.PeerProxies {
			specs[i].ListenPeerURL = "http://127.0.0.1:" + strconv.Itoa(ps[per*i+2])
		}
		ic = append(ic, name+"="+specs[i].PeerURL)
	}
	for i := range specs {
		specs[i].InitialCluster = strings.Join(ic, ",")
	}
	return specs, nil
}

// Cluster is a set of members started by one backend: their lifecycle
// (Start or Adopt, Add, Restart, Kill, Close), clients, health, leader and
// cluster ID, and peer partitions (Isolate, Heal). Membership changes through
// etcd (MemberAdd, MemberRemove) are MembershipOf's.
type Cluster struct {
	Backend backend.Backend
	Token   string

	// alloc is the allocator the members' ports came from (see Ports).
	alloc  *ports.Allocator
	timing backend.Timing

	mu      sync.Mutex
	members []backend.Member
	specs   map[string]backend.MemberSpec
	// retired are members replaced by a restart, kept for their exits.
	retired []backend.Member
	clients map[string]*clientv3.Client // by endpoint set, and user
	// auth, if set, is how clients authenticate: Client as root,
	// UserClient as the workload user.
	auth    *Auth
	proxies map[string]proxy.Server // peer proxies, by member name
	// lateProxies delays the peer proxy of a member after its start (see
	// DelayPeerListener); lateWG counts the proxies waiting to start, and
	// closed stops them.
	lateProxies map[string]time.Duration
	lateWG      sync.WaitGroup
	closed      bool
	// incidents are what etcd did wrong while the cluster was awaited.
	incidents []report.Incident
	// isolated are members a Partitioner backend cut off, to heal.
	isolated []backend.Member
}

// closeTimeout bounds the cleanup of a cluster that failed to start.
const closeTimeout = 30 * time.Second

// Start starts the members of specs on be one after another (see Add) and
// waits until each one answers a linearizable read. alloc is the allocator
// the specs' ports were reserved from, which Ports returns (nil: none); Start
// neither reserves nor releases ports. The cluster's Token and raft timing
// are those of specs[0] (etcd's default timing if it has none). On failure it
// closes what it started (bounded by 30 s) and returns no cluster.
func Start(ctx context.Context, be backend.Backend, alloc *ports.Allocator, specs []backend.MemberSpec) (*Cluster, error) {
	return StartAs(ctx, be, alloc, specs, nil)
}

// StartAs is Start for a cluster whose clients authenticate as a's users
// (nil: none), as a restored cluster with auth enabled needs to be awaited.
func StartAs(ctx context.Context, be backend.Backend, alloc *ports.Allocator, specs []backend.MemberSpec, a *Auth) (*Cluster, error) {
	c := &Cluster{Backend: be, alloc: alloc, clients: map[string]*clientv3.Client{}, specs: map[string]backend.MemberSpec{}, auth: a}
	if len(specs) > 0 {
		c.Token = specs[0].Token
		c.timing = specs[0].Timing
	}
	if c.timing.Heartbeat == 0 {
		c.timing = backend.Timing{Heartbeat: 100 * time.Millisecond, Election: time.Second} // etcd's defaults
	}
	fail := func(err error) (*Cluster, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		if cerr := c.Close(cctx); cerr != nil {
			err = fmt.Errorf("%w (and cleaning up: %v)", err, cerr)
		}
		return nil, err
	}
	if err := c.Add(ctx, specs...); err != nil {
		return fail(err)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		return fail(err)
	}
	// WaitHealthy looks at live members only: one that died starting
	// (a backend returns such a member, for crash loops) fails the start.
	for _, m := range c.Members() {
		select {
		case <-m.Exited():
			return fail(fmt.Errorf("member %s exited while the cluster started: %s", m.Name(), ExitReason(m)))
		default:
		}
	}
	return c, nil
}

// Adopt makes a cluster of members ms started by someone else (see
// backend/external, or a member started by hand on be), with the specs they
// were laid out with and alloc, the allocator those specs' ports were
// reserved from, which Ports returns (nil: none). It starts nothing, waits
// for nothing and takes ownership of ms: Close kills them. The cluster's
// Token and raft timing are those of specs[0].
func Adopt(be backend.Backend, alloc *ports.Allocator, specs []backend.MemberSpec, ms []backend.Member) *Cluster {
	c := &Cluster{Backend: be, alloc: alloc, clients: map[string]*clientv3.Client{}, specs: map[string]backend.MemberSpec{}, members: ms}
	for _, s := range specs {
		c.specs[s.Name] = s
	}
	if len(specs) > 0 {
		c.Token, c.timing = specs[0].Token, specs[0].Timing
	}
	return c
}

// Add starts members one after another, each once the one before listens,
// and adds them to the cluster without waiting for them to be healthy.
//
// Starting one at a time is faster than starting all at once: a new member
// asks its peers whether it was bootstrapped before, and a peer whose socket
// listens but whose server is still bootstrapping holds that question for
// etcd's whole bootstrap timeout (1 s), while a peer not yet listening answers
// at once with a refused connection.
func (c *Cluster) Add(ctx context.Context, specs ...backend.MemberSpec) error {
	for _, s := range specs {
		if err := c.startProxy(ctx, s); err != nil {
			return err
		}
		m, err := c.Backend.Start(ctx, s)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.members = append(c.members, m)
		c.specs[s.Name] = s
		c.mu.Unlock()
	}
	return nil
}

// Restart starts the exited member called name again on its data dir, with
// the spec it was first started with, and puts it in the old one's place.
func (c *Cluster) Restart(ctx context.Context, name string) (backend.Member, error) {
	c.mu.Lock()
	spec, ok := c.specs[name]
	idx := -1
	for i, m := range c.members {
		if m.Name() == name {
			idx = i
		}
	}
	c.mu.Unlock()
	if !ok || idx < 0 {
		return nil, fmt.Errorf("restart: no member %s", name)
	}
	old := c.members[idx]
	select {
	case <-old.Exited():
	default:
		return nil, fmt.Errorf("restart member %s: it is still running", name)
	}
	if err := old.Wait(ctx); err != nil {
		return nil, err
	}
	m, err := c.Backend.Start(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("restart member %s: %w", name, err)
	}
	c.mu.Lock()
	c.retired = append(c.retired, old)
	c.members[idx] = m
	c.mu.Unlock()
	return m, nil
}

// RestartOn starts the exited member called name again on its data dir,
// running etcd version (its spec's other fields kept): a member swapped to
// another binary, as an upgrade does.
func (c *Cluster) RestartOn(ctx context.Context, name, version string) (backend.Member, error) {
	c.mu.Lock()
	spec, ok := c.specs[name]
	if ok {
		spec.Version = version
		c.specs[name] = spec
	}
	c.mu.Unlock()
	return c.Restart(ctx, name)
}

// ClusterVersion is what member m says of the cluster's version (etcd's
// /version endpoint, "etcdcluster"): the version every member can run,
// which the leader raises once they all run a newer one.
func ClusterVersion(ctx context.Context, m backend.Member) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.ClientURL()+"/version", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("version of %s: %w", m.Name(), err)
	}
	defer resp.Body.Close()
	var v struct {
		Cluster string `json:"etcdcluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", fmt.Errorf("version of %s: %w", m.Name(), err)
	}
	return v.Cluster, nil
}

// retire takes the member called name out of the members, keeping it among
// AllMembers for its exit; it does nothing if there is no such member.
func (c *Cluster) retire(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m.Name() == name {
			c.retired = append(c.retired, m)
			c.members = append(c.members[:i:i], c.members[i+1:]...)
			return
		}
	}
}

// Ports returns the allocator the cluster's ports came from, as given to
// Start or Adopt (nil if none was); faults reserve more from it (ports where
// nothing must listen, say). The cluster never releases them: the allocator's
// owner (the Drill) does.
func (c *Cluster) Ports() *ports.Allocator { return c.alloc }

// Spec returns the spec member name was started with.
func (c *Cluster) Spec(name string) (backend.MemberSpec, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.specs[name]
	return s, ok
}

// AllMembers returns the members and those that restarts replaced, for
// their exits and panics.
func (c *Cluster) AllMembers() []backend.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(append([]backend.Member(nil), c.retired...), c.members...)
}

// Members returns the members, in start order.
func (c *Cluster) Members() []backend.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]backend.Member(nil), c.members...)
}

// Member returns the member called name, or nil.
func (c *Cluster) Member(name string) backend.Member {
	for _, m := range c.Members() {
		if m.Name() == name {
			return m
		}
	}
	return nil
}

// Live returns the members that have not exited.
func (c *Cluster) Live() []backend.Member {
	var live []backend.Member
	for _, m := range c.Members() {
		select {
		case <-m.Exited():
		default:
			live = append(live, m)
		}
	}
	return live
}

// Endpoints returns the client URLs of ms.
func Endpoints(ms []backend.Member) []string {
	eps := make([]string, len(ms))
	for i, m := range ms {
		eps[i] = m.ClientURL()
	}
	return eps
}

// NewClient returns a client of endpoints that logs nowhere; the caller closes it.
func NewClient(endpoints ...string) (*clientv3.Client, error) {
	return NewClientAs("", "", endpoints...)
}

// NewClientAs is NewClient authenticating as user (none if empty).
func NewClientAs(user, password string, endpoints ...string) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          2 * time.Second,
		DialKeepAliveTime:    time.Second,
		DialKeepAliveTimeout: time.Second,
		Logger:               zap.NewNop(),
		Username:             user,
		Password:             password,
	})
	if err != nil {
		return nil, fmt.Errorf("client of %v: %w", endpoints, err)
	}
	return cli, nil
}

// Client returns a client of the given members (all live ones if none are
// named), shared and closed with the cluster; with auth, it is root's.
func (c *Cluster) Client(ms ...backend.Member) (*clientv3.Client, error) {
	return c.clientAs(asRoot, ms)
}

// UserClient is Client as the workload user when the cluster has auth (see
// SetAuth), else Client.
func (c *Cluster) UserClient(ms ...backend.Member) (*clientv3.Client, error) {
	return c.clientAs(asWorkload, ms)
}

// hasAuth says whether the cluster's clients authenticate.
func (c *Cluster) hasAuth() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.auth != nil
}

// SetAuth makes the cluster's clients authenticate as a's users from now
// on; those made before are closed with the cluster.
func (c *Cluster) SetAuth(a *Auth) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auth = a
}

// Whom a cluster's client authenticates as, when it has auth.
type clientRole int

const (
	asRoot clientRole = iota
	asWorkload
	// asNobody: no authentication, whatever the cluster's auth.
	asNobody
)

func (c *Cluster) clientAs(role clientRole, ms []backend.Member) (*clientv3.Client, error) {
	if len(ms) == 0 {
		ms = c.Live()
	}
	if len(ms) == 0 {
		return nil, errors.New("no live member to connect to")
	}
	eps := Endpoints(ms)
	c.mu.Lock()
	user, password := "", ""
	if a := c.auth; a != nil {
		switch role {
		case asRoot:
			user, password = a.Root, a.RootPassword
		case asWorkload:
			user, password = a.User, a.Password
		}
	}
	key := user + "@" + strings.Join(eps, ",")
	cli, ok := c.clients[key]
	c.mu.Unlock()
	if ok {
		return cli, nil
	}
	// Made without the lock: with auth, a client authenticates as it is
	// made, which a member still joining makes wait for its dial timeout,
	// and which a leader change fails (Authenticate goes through raft): it
	// is tried again for a few elections' time.
	cli, err := NewClientAs(user, password, eps...)
	for try := 1; err != nil && user != "" && try < 8; try++ {
		time.Sleep(time.Duration(min(try, 5)) * 100 * time.Millisecond)
		cli, err = NewClientAs(user, password, eps...)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if other, ok := c.clients[key]; ok {
		cli.Close()
		return other, nil
	}
	c.clients[key] = cli
	return cli, nil
}

// pollInterval is how often a wait checks its condition.
const pollInterval = 10 * time.Millisecond

// WaitHealthy waits until every live member answers a linearizable read.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	ms := c.Live()
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { errs[i] = c.waitMemberHealthy(ctx, m) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Cluster) waitMemberHealthy(ctx context.Context, m backend.Member) error {
	// Anonymous: a client made as a user authenticates as it is made,
	// which a member still joining cannot answer yet. etcd agrees a
	// linearizable read with the leader before it checks who asks, so a
	// read refused for want of a user is as good a proof of health.
	cli, err := c.clientAs(asNobody, []backend.Member{m})
	for err != nil {
		// With auth, a client authenticates as it is made: a member still
		// joining cannot answer that yet.
		select {
		case <-m.Exited():
			return fmt.Errorf("member %s exited while waiting for it to be healthy: %s", m.Name(), ExitReason(m))
		case <-ctx.Done():
			return fmt.Errorf("member %s not healthy: %w (last error: %v)", m.Name(), ctx.Err(), err)
		case <-time.After(pollInterval):
		}
		cli, err = c.Client(m)
	}
	var last error
	spin := c.watchSpin(m)
	for {
		select {
		case <-m.Exited():
			return fmt.Errorf("member %s exited while waiting for it to be healthy: %s", m.Name(), ExitReason(m))
		default:
		}
		rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, last = cli.Get(rctx, "health")
		cancel()
		if last != nil && c.hasAuth() && errors.Is(rpctypes.Error(last), rpctypes.ErrUserEmpty) {
			last = nil
		}
		if last == nil {
			spin.healed()
			return nil
		}
		spin.check(ctx)
		select {
		case <-ctx.Done():
			return fmt.Errorf("member %s not healthy: %w (last error: %v)", m.Name(), ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}

// ClusterID returns the cluster ID that members report.
func (c *Cluster) ClusterID(ctx context.Context) (uint64, error) {
	cli, err := c.Client()
	if err != nil {
		return 0, err
	}
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return 0, fmt.Errorf("member list: %w", err)
	}
	return resp.Header.ClusterId, nil
}

// Versions asks each live member, through Status, the etcd version it
// runs: what really ran, whatever binary or image was asked for.
func (c *Cluster) Versions(ctx context.Context) (map[string]string, error) {
	cli, err := c.Client()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range c.Live() {
		st, err := cli.Status(ctx, m.ClientURL())
		if err != nil {
			return out, fmt.Errorf("status of %s: %w", m.Name(), err)
		}
		out[m.Name()] = st.Version
	}
	return out, nil
}

// Leader returns the member that leads, as seen by the live members.
func (c *Cluster) Leader(ctx context.Context) (backend.Member, error) {
	cli, err := c.Client()
	if err != nil {
		return nil, err
	}
	for _, m := range c.Live() {
		st, err := cli.Status(ctx, m.ClientURL())
		if err != nil {
			continue
		}
		if st.Leader == st.Header.MemberId {
			return m, nil
		}
	}
	return nil, errors.New("no live member says it leads")
}

// Kill kills every live member at once, without waiting for them to release
// their resources.
func (c *Cluster) Kill() error {
	var errs []error
	for _, m := range c.Live() {
		if err := m.Kill(); err != nil {
			errs = append(errs, fmt.Errorf("kill member %s: %w", m.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Close kills every member, closes clients and waits until members have
// released everything.
func (c *Cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	clients := c.clients
	c.clients = map[string]*clientv3.Client{}
	ms := append(append([]backend.Member(nil), c.retired...), c.members...)
	c.mu.Unlock()
	for _, cli := range clients {
		cli.Close()
	}
	var errs []error
	for _, m := range ms {
		if err := m.Kill(); err != nil {
			errs = append(errs, fmt.Errorf("kill member %s: %w", m.Name(), err))
		}
	}
	for _, m := range ms {
		if err := m.Wait(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	c.closeProxies()
	return errors.Join(errs...)
}

// ProbePrefix is where the harness writes its own keys, apart from the
// workload's, so the ledger check never sees them.
const ProbePrefix = "/drill-probe/"

// Names returns the names of ms.
func Names(ms []backend.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name()
	}
	return out
}

// Timing returns the raft timing the members were started with.
func (c *Cluster) Timing() backend.Timing { return c.timing }

// ExitReason says how a member that exited ended, in etcd's own words where
// its log has them: its panic, else its exit status and the last fatal (or
// error) line of its log, which it names.
func ExitReason(m backend.Member) string {
	ex := m.ExitStatus()
	var b strings.Builder
	switch {
	case ex.Panic != "":
		fmt.Fprintf(&b, "panic %q at %s", ex.Panic, ex.PanicCaller)
	case ex.Killed:
		b.WriteString("killed")
	case ex.Err != nil:
		b.WriteString(ex.Err.Error())
	default:
		fmt.Fprintf(&b, "exit code %d", ex.Code)
	}
	if ex.Panic == "" {
		if line, ok := logs.LastSevere(m.LogPath()); ok {
			fmt.Fprintf(&b, "; its log says: %s", line)
		}
	}
	fmt.Fprintf(&b, " (log %s)", m.LogPath())
	return b.String()
}
