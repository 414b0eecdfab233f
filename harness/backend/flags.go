package backend

import "strconv"

// Listen is where a member listens and keeps its data, which a container
// sees otherwise than its spec says.
type Listen struct {
	DataDir, ClientURL, PeerURL string
}

// Flags are the etcd command-line flags of the member of s listening as l;
// it advertises the URLs of s.
func Flags(s MemberSpec, l Listen) []string {
	state := s.State
	if state == "" {
		state = StateNew
	}
	a := []string{
		"--name", s.Name,
		"--data-dir", l.DataDir,
		"--listen-client-urls", l.ClientURL,
		"--advertise-client-urls", s.ClientURL,
		"--listen-peer-urls", l.PeerURL,
		"--initial-advertise-peer-urls", s.PeerURL,
		"--initial-cluster", s.InitialCluster,
		"--initial-cluster-token", s.Token,
		"--initial-cluster-state", string(state),
		"--logger", "zap",
		"--log-outputs", "stderr",
	}
	if s.Timing.Heartbeat > 0 {
		a = append(a, "--heartbeat-interval", strconv.FormatInt(s.Timing.Heartbeat.Milliseconds(), 10))
	}
	if s.Timing.Election > 0 {
		a = append(a, "--election-timeout", strconv.FormatInt(s.Timing.Election.Milliseconds(), 10))
	}
	if s.ForceNewCluster {
		a = append(a, "--force-new-cluster")
	}
	if s.NoFsync {
		a = append(a, "--unsafe-no-fsync")
	}
	return a
}
