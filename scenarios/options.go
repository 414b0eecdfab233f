package scenarios

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/backend/embedded"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/workload"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// Options tune one run of a scenario.
type Options struct {
	// Backend is embedded (the default) or process.
	Backend string
	// Recovery replaces the scenario's own recovery: "runbook" runs
	// Runbook, an operator's executable.
	Recovery string
	Runbook  string
	// RunbookTimeout bounds each runbook phase and the wait for the cluster
	// it brings up (default 2 minutes).
	RunbookTimeout time.Duration
	// Image is the etcd image of the container backend (default: built
	// from the binaries as etcd-drill/etcd:VERSION).
	Image string
	// BinDir holds the etcd, etcdctl and etcdutl binaries for the process
	// backend and runbooks (found by bins.Find if empty).
	BinDir string
	// EtcdVersion, X.Y or X.Y.Z, picks the binaries of that etcd version
	// (bins.FindVersion) for the process and container backends and
	// runbooks; empty: the pinned one. The embedded backend runs the etcd
	// linked in, and takes only its version.
	EtcdVersion string
	// RestoreVersion, X.Y or X.Y.Z, makes the drill a cross-version
	// restore: the snapshot saved by EtcdVersion's etcdctl is restored by
	// RestoreVersion's etcdutl and served by its etcd (process backend,
	// recoveries from a snapshot).
	RestoreVersion string
	// UpgradeTo, X.Y or X.Y.Z, is the version an upgrade (or downgrade)
	// scenario moves the cluster to (--to), from EtcdVersion (--from).
	UpgradeTo string
	// Path, instead, lists every version an upgrade scenario takes the
	// cluster through, its own first (--path 3.5,3.6,3.7).
	Path []string
	// Incompatibilities are the paths across versions declared
	// unsupported (nil: the catalogue's, Incompatibilities()).
	Incompatibilities []Incompatibility
	// HopWrites is how many writes are acknowledged after each hop of an
	// upgrade, before its check (--hop-writes).
	HopWrites int
	// Migrate, with RestoreVersion, applies the operator's way down to an
	// older line: EtcdVersion's etcdutl migrates each restored data dir to
	// RestoreVersion's storage version before it starts.
	Migrate bool
	// Members is the cluster size, 1 to 9.
	Members int
	// Keys is the number of writes before the snapshot.
	Keys int
	// WritesAfter is the number of writes after the snapshot (the recovery
	// point window); negative means 1% of Keys, at least 10.
	WritesAfter int
	Seed        uint64
	// Workload shapes the writes; its Seed is taken from Seed.
	Workload workload.Config
	// BaseDir is where the run directory is made (the temp dir if empty).
	BaseDir string
	// Compact compacts the old cluster's history at half its revision
	// after the first writes, before the backup, as a cluster in use is;
	// the recovered cluster must then refuse a watch from below it.
	Compact bool
	// Traffic is how the writers run: TrafficContinuous (the default)
	// keeps them writing through the backup, the fault and the recovery,
	// then moves them to the recovered cluster; TrafficPhased writes in
	// phases on a healthy cluster only.
	Traffic string
	// TrafficRate bounds continuous traffic, in writes a second over every
	// writer (0: as fast as the cluster takes them), as an application's
	// load is: at full speed, writes during a long backup of a large
	// keyspace would outgrow it.
	TrafficRate int
	// WritesRecovered is how many writes the recovered cluster must
	// acknowledge before the traffic stops (continuous traffic; negative:
	// as many as after the snapshot).
	WritesRecovered int
	// Auth runs the drill with etcd's authentication (--auth): a root user
	// and a workload user allowed its prefix only, enabled before the
	// workload, checked after the recovery.
	Auth bool
	// Credentials are the users --auth sets up (nil: made per run, with
	// random passwords); tests give their own to look for them.
	Credentials *harness.Auth
	// Keep leaves the run directory (data dirs, logs, snapshot) in place.
	Keep   bool
	Timing backend.Timing
	// NoFsync runs members with --unsafe-no-fsync.
	NoFsync bool
	// MaxLogBytes caps each member log and runbook output (0: the default,
	// logs.DefaultMaxBytes).
	MaxLogBytes int64
	// FreeSpace, if set, replaces the file system's answer to "how many
	// bytes are free under dir" (tests make a disk run short).
	FreeSpace func(dir string) (uint64, error)
	// Timeout bounds the whole drill (0: the sum of its steps' deadlines;
	// see StepDeadline).
	Timeout time.Duration
	// StepDeadlines overrides the deadline of the steps it names.
	StepDeadlines map[string]time.Duration
	// Progress, if set, hears how far a workload phase is.
	Progress func(phase string, done, total int)
	// OnStepStart, if set, hears each step as it begins.
	OnStepStart func(name string)
	// OnStep, if set, hears each step as it ends.
	OnStep func(report.Step)
}

// DefaultOptions is a 3-member embedded drill of 10,000 writes.
func DefaultOptions() Options {
	return Options{
		Backend:         "embedded",
		Members:         3,
		Keys:            10000,
		HopWrites:       1000,
		WritesAfter:     -1,
		Seed:            1,
		Workload:        workload.DefaultConfig(),
		Compact:         true,
		Traffic:         TrafficContinuous,
		TrafficRate:     5000,
		WritesRecovered: -1,
		// Loopback members can run ten times faster than etcd's defaults
		// (100 ms, 1 s): elections and the quorum-loss probe take a tenth.
		Timing: backend.Timing{Heartbeat: 25 * time.Millisecond, Election: 250 * time.Millisecond},
	}
}

// Traffic modes.
const (
	TrafficContinuous = "continuous"
	TrafficPhased     = "phased"
)

// continuous says whether the writers run through the fault.
func (o Options) continuous() bool { return o.Traffic != TrafficPhased }

// trafficBytes bounds the values continuous traffic writes a second: with
// large values, the rate in writes is lower.
const trafficBytes = 16 << 20

// trafficRate resolves the rate of continuous traffic, in writes a second
// (0: unbounded): TrafficRate, and no more than trafficBytes of values.
func (o Options) trafficRate() int {
	if o.TrafficRate == 0 {
		return 0
	}
	return min(o.TrafficRate, max(trafficBytes/max(o.Workload.ValueSize, 1), 1))
}

// writesRecovered resolves the default number of writes the recovered
// cluster must acknowledge: one at least, which ends the outage.
func (o Options) writesRecovered() int {
	if o.WritesRecovered >= 0 {
		return max(o.WritesRecovered, 1)
	}
	return o.writesAfter()
}

// writesAfter resolves the default number of writes after the snapshot.
func (o Options) writesAfter() int {
	if o.WritesAfter >= 0 {
		return o.WritesAfter
	}
	return max(10, o.Keys/100)
}

// Validate reports options that cannot run sc. It looks at the input only:
// what the machine lacks (Docker, the binaries, disk space) is
// CheckEnvironment's. Both run before anything is created.
func Validate(sc Scenario, o Options) error {
	if o.Members < 1 || o.Members > harness.MaxMembers {
		return fmt.Errorf("--members %d: must be 1 to %d", o.Members, harness.MaxMembers)
	}
	if o.Members < sc.MinMembers {
		return fmt.Errorf("scenario %s needs at least %d members, got %d", sc.Name, sc.MinMembers, o.Members)
	}
	if o.Keys < 0 {
		return fmt.Errorf("--keys %d: must be 0 or more", o.Keys)
	}
	if o.TrafficRate < 0 {
		return fmt.Errorf("--traffic-rate %d: must be 0 (unbounded) or more", o.TrafficRate)
	}
	switch o.Traffic {
	case "", TrafficContinuous, TrafficPhased:
	default:
		return fmt.Errorf("--traffic %s: want %s or %s", o.Traffic, TrafficContinuous, TrafficPhased)
	}
	if o.Keys < sc.MinKeys {
		return fmt.Errorf("scenario %s needs --keys %d or more, got %d", sc.Name, sc.MinKeys, o.Keys)
	}
	if r := o.Workload.ReadRatio; !(r >= 0 && r <= 1) {
		return fmt.Errorf("--read-ratio %v: must be between 0 and 1", r)
	}
	if r := o.Workload.TxnRatio; !(r >= 0 && r <= 1) {
		return fmt.Errorf("--txn-ratio %v: must be between 0 and 1", r)
	}
	if n := o.Workload.TxnSize; o.Workload.TxnRatio > 0 && (n < 2 || n > 100) {
		return fmt.Errorf("--txn-size %d: must be between 2 and 100 (etcd takes at most 128 operations in a transaction)", n)
	}
	if err := o.Workload.Validate(); err != nil {
		return err
	}
	kind, err := kindOf(o.Backend)
	if err != nil {
		return err
	}
	if o.EtcdVersion != "" {
		if err := bins.ValidVersion(o.EtcdVersion); err != nil {
			return fmt.Errorf("--etcd-version: %w", err)
		}
	}
	if err := o.validateUpgrade(sc); err != nil {
		return err
	}
	if o.Migrate && o.RestoreVersion == "" {
		return errors.New("--migrate needs --restore-version: it migrates the restored data dirs down to that version")
	}
	if o.RestoreVersion != "" {
		if err := bins.ValidVersion(o.RestoreVersion); err != nil {
			return fmt.Errorf("--restore-version: %w", err)
		}
		if orEmbedded(o.Backend) != "process" {
			return fmt.Errorf("--restore-version %s: a cross-version restore runs on --backend process (members of two versions in one drill), not %s", o.RestoreVersion, orEmbedded(o.Backend))
		}
		if o.Migrate && (o.EtcdVersion == "" || !bins.Older(o.RestoreVersion, o.EtcdVersion)) {
			return fmt.Errorf("--migrate: migrates down to --restore-version %s, which must be an older line than --etcd-version %q", o.RestoreVersion, o.EtcdVersion)
		}
		if !sc.Recovery.NeedsSnapshot() || o.Recovery == "runbook" {
			return fmt.Errorf("--restore-version %s: scenario %s does not restore a snapshot with the drill's own procedure (%s): nothing to restore on another version", o.RestoreVersion, sc.Name, sc.Recovery.Name())
		}
	}
	if o.EtcdVersion != "" && kind.name == "embedded" && !bins.SameLine(embedded.New().EtcdVersion(), o.EtcdVersion) {
		return fmt.Errorf("--etcd-version %s: the embedded backend runs the etcd linked in (%s); other versions run on --backend process or container",
			o.EtcdVersion, embedded.New().EtcdVersion())
	}
	if missing := lacks(kind.caps, needs(sc)); len(missing) > 0 {
		var can []string
		for _, k := range kinds() {
			if len(lacks(k.caps, needs(sc))) == 0 {
				can = append(can, k.name)
			}
		}
		return fmt.Errorf("scenario %s cannot run on the %s backend: it needs %s; backends that can run it: %s",
			sc.Name, kind.name, strings.Join(missing, ", "), strings.Join(can, ", "))
	}
	switch o.Recovery {
	case "", sc.Recovery.Name():
		if o.Runbook != "" {
			return fmt.Errorf("--runbook %s: needs --recovery runbook", o.Runbook)
		}
	case "runbook":
		if o.Runbook == "" {
			return errors.New("--recovery runbook needs --runbook FILE")
		}
		if err := recovery.CheckRunbook(o.Runbook); err != nil {
			return err
		}
		if !recovery.RunbookMayReplace(sc.Recovery) {
			return fmt.Errorf("scenario %s: its recovery (%s) is what it asserts, a runbook cannot replace it; runbooks replace snapshot-restore", sc.Name, sc.Recovery.Name())
		}
	default:
		return fmt.Errorf("--recovery %s: want runbook or the scenario's own (%s)", o.Recovery, sc.Recovery.Name())
	}
	if o.MaxLogBytes < 0 {
		return fmt.Errorf("--max-log-bytes %d: must be positive (0: the default)", o.MaxLogBytes)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("--timeout %v: must be positive (0: the sum of the steps' deadlines)", o.Timeout)
	}
	if err := validTiming(o.Timing); err != nil {
		return err
	}
	if o.Workload.ValueSize > maxValueSize {
		return fmt.Errorf("--value-size %d: etcd refuses requests over 1.5 MiB; use at most %d", o.Workload.ValueSize, maxValueSize)
	}
	return nil
}

// maxValueSize keeps a put under etcd's default request limit (1.5 MiB).
const maxValueSize = 1 << 20

// validTiming checks what etcd checks of its timing flags, which take whole
// milliseconds: a heartbeat of at least 1 ms, an election timeout of at least
// 5 heartbeats and at most 50 s.
func validTiming(t backend.Timing) error {
	hb, el := t.Heartbeat.Milliseconds(), t.Election.Milliseconds()
	switch {
	case t.Heartbeat%time.Millisecond != 0 || t.Election%time.Millisecond != 0:
		return fmt.Errorf("--heartbeat %v, --election %v: etcd takes whole milliseconds", t.Heartbeat, t.Election)
	case hb < 1:
		return fmt.Errorf("--heartbeat %v: must be at least 1ms", t.Heartbeat)
	case el < 5*hb:
		return fmt.Errorf("--election %v: must be at least 5 heartbeats (%v)", t.Election, 5*t.Heartbeat)
	case el > 50000:
		return fmt.Errorf("--election %v: etcd allows at most 50s", t.Election)
	}
	return nil
}

// needs is what the backend must do for sc: what its faults and its
// recovery need.
func needs(sc Scenario) backend.Caps {
	all := []backend.Caps{sc.Fault.Needs()}
	for _, a := range append(append([]Act(nil), sc.Then...), sc.After...) {
		if a.Fault != nil {
			all = append(all, a.Fault.Needs())
		}
	}
	if n, ok := sc.Recovery.(recovery.Needer); ok {
		all = append(all, n.Needs())
	}
	var u backend.Caps
	for _, c := range all {
		u.HardKill = u.HardKill || c.HardKill
		u.Restart = u.Restart || c.Restart
		u.Pause = u.Pause || c.Pause
		u.Partition = u.Partition || c.Partition
		u.SurvivesMemberPanic = u.SurvivesMemberPanic || c.SurvivesMemberPanic
	}
	return u
}

// lacks names the capabilities in want that have misses.
func lacks(have, want backend.Caps) []string {
	var out []string
	check := func(w, h bool, name string) {
		if w && !h {
			out = append(out, name)
		}
	}
	check(want.HardKill, have.HardKill, "hard kill")
	check(want.Restart, have.Restart, "restart")
	check(want.Pause, have.Pause, "pause")
	check(want.Partition, have.Partition, "network partition")
	check(want.SurvivesMemberPanic, have.SurvivesMemberPanic, "members that can panic without taking the harness down")
	return out
}

// withRecovery returns sc with the recovery o asks for in place of its own.
func withRecovery(sc Scenario, o Options) (Scenario, error) {
	if o.Recovery != "runbook" {
		return sc, nil
	}
	b, err := bins.FindVersion(o.BinDir, o.EtcdVersion)
	if err != nil {
		return sc, err
	}
	path, err := filepath.Abs(o.Runbook)
	if err != nil {
		return sc, err
	}
	sc.Recovery = recovery.Runbook{Path: path, Bins: b, Timeout: o.RunbookTimeout, Healthy: o.RunbookTimeout, MaxLogBytes: o.MaxLogBytes}
	return sc, nil
}

// upgradePath is the versions an upgrade scenario takes the cluster
// through, its own first: --path, else --from (--etcd-version, or the
// pinned one) and --to, with every line between them for upgrade/hops.
func (o Options) upgradePath(sc Scenario) []string {
	if len(o.Path) > 0 {
		return o.Path
	}
	if o.UpgradeTo == "" {
		return nil
	}
	from := o.EtcdVersion
	if from == "" {
		from = embedded.New().EtcdVersion()
	}
	if sc.Upgrade == UpgradeHops {
		return append(append([]string{from}, linesBetween(from, o.UpgradeTo)...), o.UpgradeTo)
	}
	return []string{from, o.UpgradeTo}
}

// linesBetween lists the minor lines strictly between from and to (X.Y),
// when to is newer and of the same major version.
func linesBetween(from, to string) []string {
	var fmaj, fmin, tmaj, tmin int
	if _, err := fmt.Sscanf(bins.MinorLine(from), "%d.%d", &fmaj, &fmin); err != nil {
		return nil
	}
	if _, err := fmt.Sscanf(bins.MinorLine(to), "%d.%d", &tmaj, &tmin); err != nil || tmaj != fmaj {
		return nil
	}
	var out []string
	for m := fmin + 1; m < tmin; m++ {
		out = append(out, fmt.Sprintf("%d.%d", fmaj, m))
	}
	return out
}

// validateUpgrade checks the versions an upgrade or downgrade scenario is
// given, and that no other scenario is given any.
func (o Options) validateUpgrade(sc Scenario) error {
	if o.HopWrites < 0 {
		return fmt.Errorf("--hop-writes %d: must be 0 or more", o.HopWrites)
	}
	switch {
	case sc.Upgrade == "" && len(o.Path) > 0:
		return fmt.Errorf("--path %s: scenario %s moves no version (upgrade/* and downgrade/* scenarios do)", strings.Join(o.Path, ","), sc.Name)
	case sc.Upgrade == "" && o.UpgradeTo != "":
		return fmt.Errorf("--to %s: scenario %s upgrades nothing (upgrade/* and downgrade/* scenarios do)", o.UpgradeTo, sc.Name)
	case sc.Upgrade == "":
		return nil
	case len(o.Path) == 0 && o.UpgradeTo == "":
		return fmt.Errorf("scenario %s needs --to X.Y, the version to move to (and --from X.Y, the cluster's own), or --path", sc.Name)
	}
	if len(o.Path) > 0 {
		switch {
		case len(o.Path) < 2:
			return fmt.Errorf("--path %s: want two versions or more, the cluster's own first", strings.Join(o.Path, ","))
		case o.EtcdVersion != "" && !bins.SameLine(o.Path[0], o.EtcdVersion) && !bins.SameLine(o.EtcdVersion, o.Path[0]):
			return fmt.Errorf("--path %s starts on %s, not on --from %s", strings.Join(o.Path, ","), o.Path[0], o.EtcdVersion)
		case o.UpgradeTo != "" && !bins.SameLine(o.Path[len(o.Path)-1], o.UpgradeTo) && !bins.SameLine(o.UpgradeTo, o.Path[len(o.Path)-1]):
			return fmt.Errorf("--path %s ends on %s, not on --to %s", strings.Join(o.Path, ","), o.Path[len(o.Path)-1], o.UpgradeTo)
		}
	}
	path := o.upgradePath(sc)
	for _, v := range path {
		if err := bins.ValidVersion(v); err != nil {
			return fmt.Errorf("--path/--to: %w", err)
		}
	}
	if orEmbedded(o.Backend) != "process" {
		return fmt.Errorf("%s: moving a cluster across versions swaps members' binaries: it runs on --backend process, not %s", sc.Name, orEmbedded(o.Backend))
	}
	for i := 1; i < len(path); i++ {
		if bins.MinorLine(path[i]) == bins.MinorLine(path[i-1]) {
			return fmt.Errorf("%s to %s: the same line: nothing to move", path[i-1], path[i])
		}
	}
	switch sc.Upgrade {
	case UpgradeRolling:
		if len(path) != 2 {
			return fmt.Errorf("%s takes one hop (--from, --to); a path of several hops is upgrade/hops", sc.Name)
		}
		if !bins.Older(path[0], path[1]) {
			return fmt.Errorf("--to %s is older than --from %s: the way down is downgrade/one-minor", path[1], path[0])
		}
	case UpgradeHops:
		for i := 1; i < len(path); i++ {
			if !bins.Older(path[i-1], path[i]) {
				return fmt.Errorf("--path %s: every hop goes up a line, not %s to %s", strings.Join(path, ","), path[i-1], path[i])
			}
		}
	case UpgradeDown:
		if len(path) != 2 || !bins.Older(path[1], path[0]) {
			return fmt.Errorf("%s goes down: --to %s must be an older line than --from %s", sc.Name, path[len(path)-1], path[0])
		}
	}
	return nil
}
