// Package container runs each etcd member in its own Docker container, with
// testcontainers-go, on a user-defined network of the drill where it has its
// own hostname (its member name). Data dirs are bind mounts of the run
// directory, so recoveries reach them; client and peer ports are published
// on 127.0.0.1 for the harness. No registry is needed: the image is built
// locally from the pinned etcd's static binaries. The reaper (Ryuk) cannot be
// pulled either, so the backend removes its own containers and network, and
// labels everything so that `etcd-drill cleanup` can remove what a killed
// run left behind.
package container

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	dcontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/logs"
)

// Labels on everything the backend makes.
const (
	LabelDrill = "etcd-drill"
	LabelRun   = "etcd-drill.run"
	// LabelPID is the process id of the harness that made it: Cleanup
	// leaves alone what a live harness still uses.
	LabelPID = "etcd-drill.pid"
)

// labels are the labels of everything the backend of run makes.
func labels(run string) map[string]string {
	return map[string]string{LabelDrill: "true", LabelRun: run, LabelPID: strconv.Itoa(os.Getpid())}
}

// Ports inside a member's container.
const (
	clientPort = "2379"
	peerPort   = "2380"
	dataDir    = "/var/lib/etcd"
)

// Backend starts members as containers of one image on one network.
type Backend struct {
	image   string
	version string
	run     string
	cli     client.APIClient
	prov    *testcontainers.DockerProvider
	// net is the drill's network, where members reach each other by name.
	net dockerNet

	members backend.Roster[*member]
}

// DisableReaper turns off testcontainers' reaper, whose image cannot be
// pulled here; the backend removes what it makes itself.
func DisableReaper() {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
}

// quiet keeps testcontainers' own chatter off the terminal.
func quiet() testcontainers.LoggerOption { return testcontainers.WithLogger(tclog.NewNoopLogger()) }

// Available says whether a Docker engine answers.
func Available(ctx context.Context) error {
	DisableReaper()
	p, err := testcontainers.NewDockerProvider(quiet())
	if err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	defer p.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := p.Client().Ping(pctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("no Docker engine answers: %w", err)
	}
	return nil
}

// New makes the drill's network; run names the drill in labels and names.
func New(ctx context.Context, image, version, run string) (*Backend, error) {
	DisableReaper()
	p, err := testcontainers.NewDockerProvider(quiet())
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	b := &Backend{image: image, version: version, run: run, cli: p.Client(), prov: p}
	b.net.name = "etcd-drill-" + run
	res, err := b.cli.NetworkCreate(ctx, b.net.name, client.NetworkCreateOptions{
		Driver: "bridge",
		Labels: labels(run),
	})
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("make network %s: %w", b.net.name, err)
	}
	b.net.id = res.ID
	return b, nil
}

type dockerNet struct{ name, id string }

func (b *Backend) removeNetwork(ctx context.Context) error {
	if _, err := b.cli.NetworkRemove(ctx, b.net.id, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove network %s: %w", b.net.name, err)
	}
	return nil
}

func (*Backend) Name() string          { return "container" }
func (b *Backend) EtcdVersion() string { return b.version }

// Caps: a container can be killed, restarted on its bind-mounted data dir,
// paused, cut from the network, and can panic alone.
func (*Backend) Caps() backend.Caps { return Caps() }

// Caps is what a container backend can do.
func Caps() backend.Caps {
	return backend.Caps{HardKill: true, Restart: true, Pause: true, Partition: true, SurvivesMemberPanic: true}
}

// Layout gives members the URLs they have on the drill's network: their
// name is their hostname.
func (b *Backend) Layout(specs []backend.MemberSpec) []backend.MemberSpec {
	out := make([]backend.MemberSpec, len(specs))
	for i, s := range specs {
		s.ClientURL = "http://" + s.Name + ":" + clientPort
		s.PeerURL = "http://" + s.Name + ":" + peerPort
		s.ListenPeerURL = ""
		s.InitialCluster = rewriteInitialCluster(s.InitialCluster)
		out[i] = s
	}
	return out
}

// rewriteInitialCluster maps name=anyURL to name=http://name:2380.
func rewriteInitialCluster(ic string) string {
	var parts []string
	for _, p := range strings.Split(ic, ",") {
		name, _, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			continue
		}
		parts = append(parts, name+"=http://"+name+":"+peerPort)
	}
	return strings.Join(parts, ",")
}

func memberLabels(run, member string) map[string]string {
	l := labels(run)
	l[LabelDrill+".member"] = member
	return l
}

func (b *Backend) containerName(member string) string {
	return "etcd-drill-" + b.run + "-" + member
}

// Args are etcd's flags inside the container: it listens on every
// interface of the container and keeps its data in the bind mount.
func Args(s backend.MemberSpec) []string {
	return backend.Flags(s, backend.Listen{
		DataDir:   dataDir,
		ClientURL: "http://0.0.0.0:" + clientPort,
		PeerURL:   "http://0.0.0.0:" + peerPort,
	})
}

// Start runs a member's container and returns once its peer server answers
// (or it has exited). A container of the same name left by an earlier run of
// the member (a restart) is removed first.
func (b *Backend) Start(ctx context.Context, spec backend.MemberSpec) (backend.Member, error) {
	if b.members.Closed() {
		return nil, errors.New("container backend is closed")
	}
	if spec.Version != "" && spec.Version != b.version {
		return nil, fmt.Errorf("member %s: this container backend runs image %s (etcd %s) only, not %s", spec.Name, b.image, b.version, spec.Version)
	}
	if err := os.MkdirAll(spec.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir of %s: %w", spec.Name, err)
	}
	name := b.containerName(spec.Name)
	b.remove(ctx, name)
	req := testcontainers.ContainerRequest{
		Image:          b.image,
		Name:           name,
		Cmd:            Args(spec),
		ExposedPorts:   []string{clientPort + "/tcp", peerPort + "/tcp"},
		Networks:       []string{b.net.name},
		NetworkAliases: map[string][]string{b.net.name: {spec.Name}},
		Labels:         memberLabels(b.run, spec.Name),
		ConfigModifier: func(c *dcontainer.Config) { c.Hostname = spec.Name },
		HostConfigModifier: func(hc *dcontainer.HostConfig) {
			hc.Binds = []string{spec.DataDir + ":" + dataDir}
			hc.PortBindings = network.PortMap{}
			for _, p := range []string{clientPort, peerPort} {
				hc.PortBindings[network.MustParsePort(p+"/tcp")] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
			}
		},
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true, Logger: tclog.NewNoopLogger()})
	if err != nil {
		// Interrupted half-way, the container may exist with no handle to it.
		b.remove(context.WithoutCancel(ctx), name)
		return nil, fmt.Errorf("start container of %s: %w", spec.Name, err)
	}
	m := &member{b: b, Described: backend.Described{Spec: spec}, Ending: backend.NewEnding(), c: c.(*testcontainers.DockerContainer), logsDone: make(chan struct{})}
	if err := m.refreshPorts(ctx); err != nil {
		b.remove(context.WithoutCancel(ctx), name)
		return nil, fmt.Errorf("ports of %s: %w", spec.Name, err)
	}
	if err := m.followLogs(ctx); err != nil {
		b.remove(context.WithoutCancel(ctx), name)
		return nil, err
	}
	b.members.Add(m)
	go m.wait()
	// Its peer server answers only after its bootstrap.
	if err := backend.WaitPeerServing(ctx, readyTimeout, m.Exited(), m.peerHost); err != nil {
		m.Kill()
		return nil, fmt.Errorf("start member %s: %w", spec.Name, err)
	}
	return m, nil
}

// remove force-removes a container by name, if there is one.
func (b *Backend) remove(ctx context.Context, name string) {
	_, _ = b.cli.ContainerRemove(ctx, name, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// Isolate disconnects a member from the drill's network: it reaches no
// peer, no peer reaches it, and neither does the harness (its published
// ports go with the network).
func (b *Backend) Isolate(ctx context.Context, m backend.Member) error {
	cm, ok := m.(*member)
	if !ok {
		return fmt.Errorf("isolate %s: not a container member", m.Name())
	}
	if _, err := b.cli.NetworkDisconnect(ctx, b.net.id, client.NetworkDisconnectOptions{Container: cm.c.GetContainerID(), Force: true}); err != nil {
		return fmt.Errorf("disconnect %s: %w", m.Name(), err)
	}
	return nil
}

// Heal connects an isolated member to the drill's network again, under its
// name. Docker publishes its ports anew, on other host ports: the member's
// ClientURL changes.
func (b *Backend) Heal(ctx context.Context, m backend.Member) error {
	cm, ok := m.(*member)
	if !ok {
		return fmt.Errorf("heal %s: not a container member", m.Name())
	}
	_, err := b.cli.NetworkConnect(ctx, b.net.id, client.NetworkConnectOptions{
		Container:      cm.c.GetContainerID(),
		EndpointConfig: &network.EndpointSettings{Aliases: []string{m.Name()}},
	})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("reconnect %s: %w", m.Name(), err)
	}
	return cm.refreshPorts(ctx)
}

// Close kills every member, and removes the containers of the drill and its
// network.
func (b *Backend) Close(ctx context.Context) error {
	first, err := b.members.Close(func(m *member) error {
		if _, err := b.cli.ContainerRemove(ctx, m.c.GetContainerID(), client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			return fmt.Errorf("remove container of %s: %w", m.Spec.Name, err)
		}
		return nil
	})
	if !first {
		return nil
	}
	nerr := b.removeNetwork(ctx)
	b.prov.Close()
	return errors.Join(err, nerr)
}

func isNotFound(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "No such") || strings.Contains(strings.ToLower(err.Error()), "not found"))
}

type member struct {
	b *Backend
	backend.Described
	*backend.Ending
	c *testcontainers.DockerContainer
	// clientURL and peerHostURL are the published ports on 127.0.0.1.
	clientURL, peerHostURL string
	// logw caps the member's log; logOffset is where this run's output
	// starts in it.
	logw      *logs.Capped
	logOffset int64

	mu       sync.Mutex
	killed   bool
	stopped  bool
	logsDone chan struct{}
}

// ClientURL is where the harness reaches the member: its published port.
func (m *member) ClientURL() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.clientURL
}

// refreshPorts reads where Docker published the member's ports.
func (m *member) refreshPorts(ctx context.Context) error {
	cu, err := m.mapped(ctx, clientPort)
	if err != nil {
		return err
	}
	pu, err := m.mapped(ctx, peerPort)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.clientURL, m.peerHostURL = cu, pu
	m.mu.Unlock()
	return nil
}

// ContainerID names the member's container.
func (m *member) ContainerID() string { return m.c.GetContainerID() }

func (m *member) mapped(ctx context.Context, port string) (string, error) {
	p, err := m.c.MappedPort(ctx, port+"/tcp")
	if err != nil {
		return "", err
	}
	return "http://127.0.0.1:" + strconv.Itoa(int(p.Num())), nil
}

// followLogs copies the container's output to the member's log file,
// through a capped writer, until the container stops; the writer is closed
// (its tail written) when the stream ends.
func (m *member) followLogs(ctx context.Context) error {
	w, err := logs.OpenCapped(m.Spec.LogPath, logs.Budget(m.Spec.MaxLogBytes))
	if err != nil {
		return fmt.Errorf("log of member %s: %w", m.Spec.Name, err)
	}
	// A restarted member appends to its log: its own run starts here.
	m.logw, m.logOffset = w, w.Offset()
	rc, err := m.b.cli.ContainerLogs(context.WithoutCancel(ctx), m.c.GetContainerID(), client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		w.Close()
		return fmt.Errorf("logs of member %s: %w", m.Spec.Name, err)
	}
	go func() {
		defer close(m.logsDone)
		defer w.Close()
		defer rc.Close()
		_, _ = stdcopy.StdCopy(w, w, rc)
	}()
	return nil
}

// wait observes the container's end, then reads its panic from its log.
func (m *member) wait() {
	res := m.b.cli.ContainerWait(context.Background(), m.c.GetContainerID(), client.ContainerWaitOptions{Condition: dcontainer.WaitConditionNotRunning})
	x := backend.Exit{Code: -1}
	select {
	case r := <-res.Result:
		x.Code = int(r.StatusCode)
	case err := <-res.Error:
		x.Err = err
	}
	x.At = time.Now()
	select { // the log stream ends with the container
	case <-m.logsDone:
	case <-time.After(5 * time.Second):
		// Write the tail now (the copy gets an error and stops).
		m.logw.Close()
	}
	if p, ok := backend.ParsePanicFile(m.Spec.LogPath, m.logOffset); ok {
		x.Panic, x.PanicCaller = p.Message, p.Caller
	}
	m.mu.Lock()
	x.Killed = m.killed
	switch {
	case m.killed, m.stopped && x.Panic == "":
		x.Err = nil
	case x.Err == nil && x.Code != 0:
		x.Err = fmt.Errorf("member %s exited with status %d", m.Spec.Name, x.Code)
	}
	m.mu.Unlock()
	m.End(x)
}

// Kill is docker kill (SIGKILL); it returns once the container has stopped.
func (m *member) Kill() error {
	select {
	case <-m.Exited():
		return nil
	default:
	}
	m.mu.Lock()
	m.killed = true
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.b.cli.ContainerKill(ctx, m.c.GetContainerID(), client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil && !notRunning(err) {
		return fmt.Errorf("kill member %s: %w", m.Spec.Name, err)
	}
	select {
	case <-m.Exited():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("member %s still running after docker kill", m.Spec.Name)
	}
}

func notRunning(err error) bool {
	return isNotFound(err) || strings.Contains(err.Error(), "is not running")
}

// Stop is docker stop: SIGTERM, then SIGKILL when ctx ends.
func (m *member) Stop(ctx context.Context) error {
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	timeout := 10
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(int(time.Until(dl).Seconds()), 1)
	}
	if _, err := m.b.cli.ContainerStop(context.WithoutCancel(ctx), m.c.GetContainerID(), client.ContainerStopOptions{Signal: syscall.SIGTERM.String(), Timeout: &timeout}); err != nil && !notRunning(err) {
		return fmt.Errorf("stop member %s: %w", m.Spec.Name, err)
	}
	return m.Wait(ctx)
}

// Pause freezes the container (docker pause); Resume unfreezes it.
func (m *member) Pause() error {
	_, err := m.b.cli.ContainerPause(context.Background(), m.c.GetContainerID(), client.ContainerPauseOptions{})
	return err
}

func (m *member) Resume() error {
	_, err := m.b.cli.ContainerUnpause(context.Background(), m.c.GetContainerID(), client.ContainerUnpauseOptions{})
	return err
}

// Wait blocks until the container has stopped.
func (m *member) Wait(ctx context.Context) error { return m.AwaitEnd(ctx, m.Spec.Name) }

// readyTimeout bounds how long Start waits for a member's peer server.
const readyTimeout = 60 * time.Second

// peerHost is where the member's peer port is published on 127.0.0.1.
func (m *member) peerHost() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peerHostURL
}

var _ backend.Member = (*member)(nil)
