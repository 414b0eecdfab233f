package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/etcd-drill/etcd-drill/harness/backend/container"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/scenarios"
)

// etcd-drill soak runs N random drills of the catalogue one after another in
// this process, and after each one counts what this process holds against
// what it held before the first: descriptors, goroutines, child processes,
// loopback listeners, Docker objects, run directories. A drill that leaves
// any of them behind leaks; one that does not return hangs; one that fails
// on a healthy machine is a flake. Each is written to a flake log with the
// command that replays it.

const (
	defaultSoakBackends = "embedded,process"
	defaultMaxKeys      = 3000
	minSoakKeys         = 100
	maxSoakMembers      = 5
	// flakeLogName is the flake log's name, in --workdir when given, else
	// next to the fresh soak directory (which is removed when empty).
	flakeLogName = "soak-flakes.log"
	// soakWatchdogSlack is how long past its own deadline a drill may run
	// before the soak calls it a hang of the harness: Run bounds every step
	// and its cleanup, so a drill that outlives that is a harness bug.
	soakWatchdogSlack = 2 * time.Minute
	// soakSettle is how long the goroutines, descriptors and processes of a
	// finished drill may take to go (members close in the background).
	soakSettle = 10 * time.Second
	// soakFDSlack is the descriptors a drill may add without leaking: the
	// runtime opens some once and keeps them (the netpoller's epoll instance
	// and its eventfd on the first network use, a pidfd probe on the first
	// child), and HTTP clients keep idle keep-alive connections for a while.
	// A real leak grows drill after drill and passes this within a few.
	soakFDSlack = 5
)

// soakConfig is a soak: its flags, and what tests change.
type soakConfig struct {
	count    int
	seed     uint64
	glob     string
	backends []string
	// explicit: --backend was given (a backend that can run nothing is
	// then bad input, not a note).
	explicit bool
	flakeLog string
	junit    string
	workDir  string
	maxKeys  int
	binDir   string
	// args is the command line, for the flake log.
	args []string

	// tweak, if set, changes each drill's options after the soak's choices
	// (tests make a step's deadline tiny). The CLI leaves it nil.
	tweak func(*scenarios.Options)
	// run runs one drill (scenarios.Run if nil; tests make it hang).
	run func(context.Context, scenarios.Scenario, scenarios.Options) (*report.Report, error)
	// watchdogSlack (soakWatchdogSlack if 0) and settle (soakSettle if 0).
	watchdogSlack time.Duration
	settle        time.Duration
}

func newSoakFlags() (*flag.FlagSet, *soakConfig, *string) {
	cfg := &soakConfig{}
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	backends := new(string)
	fs.IntVar(&cfg.count, "count", 10, "drills to run, one after another")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the soak's choices: the same seed and flags run the same drills")
	fs.StringVar(&cfg.glob, "scenarios", "*", "only scenarios whose name, or the part of it before the slash, matches this glob (path.Match): \"*\" all, \"quorum-loss\", \"*/snapshot-restore\"")
	fs.StringVar(backends, "backend", defaultSoakBackends, "backends to choose from, comma-separated: "+strings.Join(scenarios.Backends(), ", "))
	fs.StringVar(&cfg.flakeLog, "flake-log", "", "append every leak, hang and failure here (default: "+flakeLogName+" in --workdir, else in the system temp dir)")
	fs.StringVar(&cfg.junit, "junit", "", "write a JUnit XML file: one testcase per drill, failed when it failed unexpectedly, hung or leaked")
	fs.StringVar(&cfg.workDir, "workdir", "", "where the drills make their run directories (default: a fresh directory in the system temp dir, removed when empty)")
	fs.IntVar(&cfg.maxKeys, "max-keys", defaultMaxKeys, "each drill writes a random number of keys from 100 to this")
	fs.StringVar(&cfg.binDir, "bin-dir", "", "directory of the etcd, etcdctl and etcdutl binaries (see run --help)")
	return fs, cfg, backends
}

func cmdSoak(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs, cfg, backends := newSoakFlags()
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: etcd-drill soak [flags]\n\nruns random drills of the catalogue one after another and reports leaks, hangs and failures\n\nflags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0, errHelp
	}
	if err != nil {
		return 2, badInput("soak: %v", err)
	}
	if len(pos) > 0 {
		return 2, badInput("soak takes no arguments, got %q (--scenarios GLOB chooses scenarios)", pos[0])
	}
	fs.Visit(func(f *flag.Flag) { cfg.explicit = cfg.explicit || f.Name == "backend" })
	cfg.args = append([]string{"etcd-drill", "soak"}, args...)
	for _, b := range strings.Split(*backends, ",") {
		if b = strings.TrimSpace(b); b != "" && !slices.Contains(cfg.backends, b) {
			cfg.backends = append(cfg.backends, b)
		}
	}
	return soak(ctx, cfg, stdout)
}

// soakPlan is what a soak may choose from.
type soakPlan struct {
	// backends that can run at least one scenario, in flag order, and the
	// scenarios each can run.
	backends []string
	runnable map[string][]scenarios.Scenario
	// notes are backends skipped, and why.
	notes []string
	// matched counts the scenarios the glob matches.
	matched int
}

// plan validates cfg before anything is created; its errors are bad input.
func (cfg *soakConfig) plan(ctx context.Context) (*soakPlan, error) {
	if cfg.count < 1 {
		return nil, badInput("--count %d: must be at least 1", cfg.count)
	}
	if cfg.maxKeys < minSoakKeys {
		return nil, badInput("--max-keys %d: must be at least %d", cfg.maxKeys, minSoakKeys)
	}
	if len(cfg.backends) == 0 {
		return nil, badInput("--backend: no backend given (known: %s)", strings.Join(scenarios.Backends(), ", "))
	}
	for _, b := range cfg.backends {
		if !slices.Contains(scenarios.Backends(), b) {
			return nil, badInput("--backend: unknown backend %q (known: %s)", b, strings.Join(scenarios.Backends(), ", "))
		}
	}
	if _, err := path.Match(cfg.glob, ""); err != nil {
		return nil, badInput("--scenarios %q: %v", cfg.glob, err)
	}
	var matched []scenarios.Scenario
	for _, sc := range scenarios.Catalogue() {
		if globMatches(cfg.glob, sc.Name) {
			matched = append(matched, sc)
		}
	}
	if len(matched) == 0 {
		return nil, badInput("--scenarios %q matches no scenario (see etcd-drill list)", cfg.glob)
	}
	if cfg.workDir != "" {
		if fi, err := os.Stat(cfg.workDir); err != nil || !fi.IsDir() {
			return nil, badInput("--workdir %s: not a directory", cfg.workDir)
		}
	}
	if cfg.flakeLog != "" {
		if err := checkWritable(cfg.flakeLog); err != nil {
			return nil, badInput("--flake-log %s: %v", cfg.flakeLog, err)
		}
	}
	if cfg.junit != "" {
		if err := checkWritable(cfg.junit); err != nil {
			return nil, badInput("--junit %s: %v", cfg.junit, err)
		}
	}
	p := &soakPlan{runnable: map[string][]scenarios.Scenario{}, matched: len(matched)}
	for _, b := range cfg.backends {
		var refused error
		for _, sc := range matched {
			o := cfg.options(b, sc, max(sc.MinMembers, 1), minSoakKeys, 1, "")
			err := scenarios.Validate(sc, o)
			if err == nil {
				err = scenarios.CheckEnvironment(ctx, o)
			}
			if err != nil {
				// Refused for this backend: skipped, not a failure.
				refused = err
				continue
			}
			p.runnable[b] = append(p.runnable[b], sc)
		}
		if len(p.runnable[b]) > 0 {
			p.backends = append(p.backends, b)
			continue
		}
		if cfg.explicit {
			return nil, badInput("--backend %s: no scenario matching %q can run on it: %v", b, cfg.glob, refused)
		}
		p.notes = append(p.notes, fmt.Sprintf("backend %s skipped: no scenario matching %q can run on it: %v", b, cfg.glob, refused))
	}
	if len(p.backends) == 0 {
		return nil, badInput("--scenarios %q: no backend of %s can run any scenario it matches", cfg.glob, strings.Join(cfg.backends, ","))
	}
	return p, nil
}

// globMatches matches a scenario name with path.Match, whose * stops at a
// slash: a glob matches a name, or the part of it before the slash (as a
// path glob matches a directory and so what is in it). "*", the default,
// is every scenario; "quorum-loss" every quorum-loss/...; "*/snapshot-restore"
// every snapshot-restore recovery.
func globMatches(glob, name string) bool {
	if ok, _ := path.Match(glob, name); ok {
		return true
	}
	dir, _, found := strings.Cut(name, "/")
	ok, _ := path.Match(glob, dir)
	return found && ok
}

// options are the default options changed by the soak's choices.
func (cfg *soakConfig) options(backend string, sc scenarios.Scenario, members, keys int, seed uint64, base string) scenarios.Options {
	o := scenarios.DefaultOptions()
	o.Backend, o.BinDir, o.Members, o.Keys, o.Seed, o.BaseDir = backend, cfg.binDir, members, keys, seed, base
	return o
}

// soakDrill is one drill of a soak: its choices and its outcome.
type soakDrill struct {
	index    int
	sc       scenarios.Scenario
	o        scenarios.Options
	verdict  string // PASS, FAIL, HANG
	seconds  float64
	rep      *report.Report
	err      error
	leaks    []string
	notes    []string
	watchdog bool // Run did not return: a harness bug
	// interrupted: the user stopped the soak during this drill; its
	// failure is not unexpected.
	interrupted bool
}

func (d *soakDrill) unexpected() bool {
	return d.verdict == "HANG" || len(d.leaks) > 0 || (d.verdict == "FAIL" && !d.interrupted)
}

// soak runs the drills; its exit status is 1 if any leaked, hung or failed
// unexpectedly, 2 for bad input.
func soak(ctx context.Context, cfg *soakConfig, stdout io.Writer) (int, error) {
	p, err := cfg.plan(ctx)
	if err != nil {
		return 2, err
	}
	if cfg.run == nil {
		cfg.run = scenarios.Run
	}
	if cfg.watchdogSlack == 0 {
		cfg.watchdogSlack = soakWatchdogSlack
	}
	if cfg.settle == 0 {
		cfg.settle = soakSettle
	}
	dir, fresh, flakeLog, err := cfg.places()
	if err != nil {
		return 1, err
	}

	pairs := 0
	for _, b := range p.backends {
		pairs += len(p.runnable[b])
	}
	fmt.Fprintf(stdout, "etcd-drill soak  count=%d seed=%d backends=%s scenarios=%q (%d scenario×backend pairs)\n",
		cfg.count, cfg.seed, strings.Join(p.backends, ","), cfg.glob, pairs)
	fmt.Fprintf(stdout, "work dir:  %s\nflake log: %s\n", dir, flakeLog)
	for _, n := range p.notes {
		fmt.Fprintln(stdout, "note: "+n)
	}

	base := newSoakBaseline(dir, cfg.settle)
	base.allow(flakeLog)
	base.docker = container.Available(ctx) == nil
	if err := base.Take(ctx); err != nil {
		return 1, err
	}

	rng := rand.New(rand.NewPCG(cfg.seed, 0x5eed50a4))
	var drills []*soakDrill
	flakes := 0
	stopped := ""
	for i := 1; i <= cfg.count; i++ {
		if ctx.Err() != nil {
			stopped = fmt.Sprintf("%v before drill %d of %d", context.Cause(ctx), i, cfg.count)
			break
		}
		d := cfg.draw(rng, p, i, dir)
		o := d.o
		drills = append(drills, d)
		fmt.Fprintf(stdout, "[%d/%d] %s backend=%s members=%d keys=%d seed=%d  ", i, cfg.count, d.sc.Name, o.Backend, o.Members, o.Keys, o.Seed)
		cfg.runDrill(ctx, d)
		if !d.watchdog {
			d.leaks, d.notes = base.Diff(context.WithoutCancel(ctx), d.rep)
		}
		leaks := "none"
		if len(d.leaks) > 0 {
			leaks = strings.Join(d.leaks, ", ")
		}
		verdict := d.verdict
		if d.interrupted && verdict == "FAIL" {
			verdict = "FAIL (interrupted)"
		}
		fmt.Fprintf(stdout, "%s  %.1fs  leaks: %s\n", verdict, d.seconds, leaks)
		if d.verdict != "PASS" || len(d.leaks) > 0 {
			writeDrillDetail(stdout, d)
		}
		if d.unexpected() {
			if err := appendFlake(flakeLog, cfg, d); err != nil {
				fmt.Fprintf(stdout, "      flake log: %v\n", err)
			} else {
				flakes++
			}
		}
		if d.watchdog {
			stopped = fmt.Sprintf("drill %d did not return %v after its deadline of %v: a harness bug; the soak stops here",
				i, cfg.watchdogSlack, o.DrillDeadline())
			break
		}
		if ctx.Err() != nil {
			stopped = fmt.Sprintf("%v after drill %d of %d", context.Cause(ctx), i, cfg.count)
			break
		}
	}

	fmt.Fprintln(stdout)
	writeSoakTable(stdout, drills)
	if stopped != "" {
		fmt.Fprintln(stdout, "stopped: "+stopped)
	}
	if fresh {
		if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
			fmt.Fprintf(stdout, "work dir kept: %s (it holds what failed drills kept)\n", dir)
		}
	}
	if cfg.junit != "" {
		if err := report.WriteJUnit(cfg.junit, soakJUnit(cfg, drills)); err != nil {
			fmt.Fprintf(stdout, "junit: %v\n", err)
		}
	}
	return soakVerdict(ctx, stdout, cfg, drills, flakes, flakeLog), nil
}

// soakJUnit is the soak as a testsuite: one testcase per drill, failed when
// it hung, leaked or failed unexpectedly, with its replay command.
func soakJUnit(cfg *soakConfig, drills []*soakDrill) report.JUnitSuite {
	s := report.JUnitSuite{Name: fmt.Sprintf("etcd-drill soak (seed %d, %d drills)", cfg.seed, len(drills))}
	for _, d := range drills {
		c := report.JUnitCase{Name: fmt.Sprintf("drill %d: %s on %s (seed %d)", d.index, d.sc.Name, d.o.Backend, d.o.Seed),
			Classname: "etcd-drill.soak." + d.sc.Name, Time: report.Seconds(d.seconds), SystemOut: "replay: " + scenarios.ReplayCommand(d.sc, d.o)}
		if d.unexpected() {
			var why []string
			if d.rep != nil {
				why = append(why, d.rep.Failures...)
			}
			if d.err != nil {
				why = append(why, d.err.Error())
			}
			for _, l := range d.leaks {
				why = append(why, "leak: "+l)
			}
			c.Failure = report.Fail(d.verdict, d.verdict+": "+strings.Join(why, "\n"))
		}
		s.Time += report.Seconds(d.seconds)
		s.Add(c)
	}
	return s
}

// places are the soak's work dir (fresh: made for it, removed when empty)
// and its flake log.
func (cfg *soakConfig) places() (dir string, fresh bool, flakeLog string, err error) {
	dir = cfg.workDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "etcd-drill-soak-"); err != nil {
			return "", false, "", fmt.Errorf("make the soak directory: %w", err)
		}
		fresh = true
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	flakeLog = cfg.flakeLog
	if flakeLog == "" {
		flakeLog = filepath.Join(dir, flakeLogName)
		if fresh {
			flakeLog = filepath.Join(filepath.Dir(dir), flakeLogName)
		}
	}
	if abs, err := filepath.Abs(flakeLog); err == nil {
		flakeLog = abs
	}
	return dir, fresh, flakeLog, nil
}

// draw chooses drill i. Every drill draws the same number of values, so
// drill i of a seed is the same whatever the outcome of the ones before it.
func (cfg *soakConfig) draw(rng *rand.Rand, p *soakPlan, i int, dir string) *soakDrill {
	be := p.backends[rng.IntN(len(p.backends))]
	list := p.runnable[be]
	sc := list[rng.IntN(len(list))]
	lo := max(sc.MinMembers, 1)
	members := lo + rng.IntN(max(maxSoakMembers-lo, 0)+1)
	keys := minSoakKeys + rng.IntN(cfg.maxKeys-minSoakKeys+1)
	seed := 1 + rng.Uint64N(1<<31)
	o := cfg.options(be, sc, members, keys, seed, dir)
	if cfg.tweak != nil {
		cfg.tweak(&o)
	}
	return &soakDrill{index: i, sc: sc, o: o}
}

// soakVerdict prints the soak's last line and returns its exit status.
func soakVerdict(ctx context.Context, stdout io.Writer, cfg *soakConfig, drills []*soakDrill, flakes int, flakeLog string) int {
	bad := 0
	for _, d := range drills {
		if d.unexpected() {
			bad++
		}
	}
	if flakes > 0 {
		fmt.Fprintf(stdout, "flake log: %s (%d entries added)\n", flakeLog, flakes)
	}
	if bad > 0 {
		fmt.Fprintf(stdout, "soak FAIL: %d of %d drills leaked, hung or failed\n", bad, len(drills))
		return 1
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stdout, "soak interrupted: %d of %d drills ran, no leak, hang or unexpected failure\n", len(drills), cfg.count)
		return 0
	}
	fmt.Fprintf(stdout, "soak PASS: %d drills, no leak, hang or unexpected failure\n", len(drills))
	return 0
}

// runDrill runs d under the soak's watchdog and sets its verdict.
func (cfg *soakConfig) runDrill(ctx context.Context, d *soakDrill) {
	type result struct {
		rep *report.Report
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		rep, err := cfg.run(ctx, d.sc, d.o)
		done <- result{rep, err}
	}()
	watchdog := time.NewTimer(d.o.DrillDeadline() + cfg.watchdogSlack)
	defer watchdog.Stop()
	select {
	case r := <-done:
		d.rep, d.err = r.rep, r.err
	case <-watchdog.C:
		d.watchdog = true
		d.verdict = "HANG"
		d.seconds = time.Since(start).Seconds()
		d.err = fmt.Errorf("scenarios.Run did not return within %v (its deadline %v + %v)",
			time.Since(start).Round(time.Second), d.o.DrillDeadline(), cfg.watchdogSlack)
		return
	}
	d.seconds = time.Since(start).Seconds()
	if d.rep != nil && d.rep.Seconds > 0 {
		d.seconds = d.rep.Seconds
	}
	switch {
	case (d.rep != nil && d.rep.Deadline != nil) || errors.Is(d.err, scenarios.ErrDeadline):
		d.verdict = "HANG"
	case d.rep != nil && d.rep.Passed && d.err == nil:
		d.verdict = "PASS"
	default:
		d.verdict = "FAIL"
		d.interrupted = ctx.Err() != nil
	}
}

// failures are d's failures, the error first if the report lacks it.
func (d *soakDrill) failures() []string {
	var out []string
	if d.rep != nil {
		out = append(out, d.rep.Failures...)
	}
	if d.err != nil {
		msg := d.err.Error()
		if !slices.ContainsFunc(out, func(f string) bool { return strings.Contains(f, msg) }) {
			out = append([]string{msg}, out...)
		}
	}
	return out
}

func (d *soakDrill) deadline() string {
	if d.rep == nil || d.rep.Deadline == nil {
		return ""
	}
	dl := d.rep.Deadline
	kind := "step"
	if dl.Drill {
		kind = "drill (--timeout), in step"
	}
	s := fmt.Sprintf("%s %s passed its deadline of %v, waiting for: %s", kind, dl.Step, time.Duration(dl.Seconds*float64(time.Second)), dl.WaitingFor)
	if len(dl.Logs) > 0 {
		s += "; member logs: " + strings.Join(dl.Logs, ", ")
	}
	return s
}

// writeDrillDetail writes what the flake log holds of d, under its line.
func writeDrillDetail(w io.Writer, d *soakDrill) {
	fmt.Fprintln(w, "      replay:   "+scenarios.ReplayCommand(d.sc, d.o))
	if !d.interrupted {
		fails := d.failures()
		for i, f := range fails {
			if i == 3 {
				fmt.Fprintf(w, "      ... %d more failures (see the flake log)\n", len(fails)-3)
				break
			}
			fmt.Fprintln(w, "      failure:  "+oneLine(f, 300))
		}
	}
	if dl := d.deadline(); dl != "" {
		fmt.Fprintln(w, "      deadline: "+oneLine(dl, 300))
	}
	for _, n := range d.notes {
		fmt.Fprintln(w, "      note:     "+n)
	}
}

func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}

// appendFlake appends d's block to the flake log.
func appendFlake(file string, cfg *soakConfig, d *soakDrill) error {
	var b strings.Builder
	verdict := d.verdict
	if len(d.leaks) > 0 && verdict == "PASS" {
		verdict = "LEAK"
	} else if len(d.leaks) > 0 {
		verdict += " + LEAK"
	}
	fmt.Fprintf(&b, "=== %s  drill %d/%d  %s  soak seed %d\n", time.Now().UTC().Format(time.RFC3339), d.index, cfg.count, verdict, cfg.seed)
	fmt.Fprintf(&b, "scenario: %s  backend=%s members=%d keys=%d seed=%d  %.1fs\n", d.sc.Name, d.o.Backend, d.o.Members, d.o.Keys, d.o.Seed, d.seconds)
	fmt.Fprintf(&b, "replay:   %s\n", scenarios.ReplayCommand(d.sc, d.o))
	fmt.Fprintf(&b, "soak:     %s   (drill %d)\n", strings.Join(cfg.args, " "), d.index)
	if len(d.o.StepDeadlines) > 0 || d.o.Timeout > 0 {
		fmt.Fprintf(&b, "options:  step deadlines %v, timeout %v (not in the replay command)\n", d.o.StepDeadlines, d.o.Timeout)
	}
	if d.watchdog {
		fmt.Fprintf(&b, "watchdog: %v: a harness bug\n", d.err)
	}
	if fails := d.failures(); len(fails) > 0 && !d.watchdog {
		b.WriteString("failures:\n")
		for _, f := range fails {
			fmt.Fprintf(&b, "  - %s\n", f)
		}
	}
	if dl := d.deadline(); dl != "" {
		fmt.Fprintf(&b, "deadline: %s\n", dl)
	}
	if len(d.leaks) > 0 {
		b.WriteString("leaked:\n")
		for _, l := range d.leaks {
			fmt.Fprintf(&b, "  - %s\n", l)
		}
	} else if !d.watchdog {
		b.WriteString("leaked:   nothing\n")
	}
	for _, n := range d.notes {
		fmt.Fprintf(&b, "note:     %s\n", n)
	}
	b.WriteString("\n")
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeSoakTable writes the drills per scenario and backend, then totals.
func writeSoakTable(w io.Writer, drills []*soakDrill) {
	type row struct {
		scenario, backend                     string
		runs, pass, fail, hang, leaks, interr int
		sum, max                              float64
	}
	rows := map[[2]string]*row{}
	total := &row{scenario: "total"}
	for _, d := range drills {
		k := [2]string{d.sc.Name, d.o.Backend}
		r := rows[k]
		if r == nil {
			r = &row{scenario: k[0], backend: k[1]}
			rows[k] = r
		}
		for _, r := range []*row{r, total} {
			r.runs++
			switch {
			case d.verdict == "PASS":
				r.pass++
			case d.verdict == "HANG":
				r.hang++
			case d.interrupted:
				r.interr++
			default:
				r.fail++
			}
			if len(d.leaks) > 0 {
				r.leaks++
			}
			r.sum += d.seconds
			r.max = max(r.max, d.seconds)
		}
	}
	keys := make([][2]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tbackend\truns\tpass\tfail\thang\tleaks\tmean s\tmax s")
	line := func(r *row) {
		mean := 0.0
		if r.runs > 0 {
			mean = r.sum / float64(r.runs)
		}
		fail := strconv.Itoa(r.fail)
		if r.interr > 0 {
			fail += fmt.Sprintf(" (+%d interrupted)", r.interr)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%d\t%.1f\t%.1f\n", r.scenario, r.backend, r.runs, r.pass, fail, r.hang, r.leaks, mean, r.max)
	}
	for _, k := range keys {
		line(rows[k])
	}
	line(total)
	tw.Flush()
}

// soakBaseline is what this process held before the first drill; Diff says
// what a drill left on top of it.
type soakBaseline struct {
	pid int
	// dir is the soak work dir; allowed are its entries that are no leak:
	// those there before, the flake log, run dirs failed drills kept.
	dir     string
	allowed map[string]bool
	// settle bounds the wait for goroutines, descriptors and processes to
	// go; fdSlack is the descriptors a drill may add (see soakFDSlack).
	settle  time.Duration
	fdSlack int
	// docker: a Docker engine answers; the labelled objects are counted.
	docker bool

	fds       map[int]string
	gids      map[uint64]string
	procs     map[int]leakcheck.Process
	listeners map[string]int
	objects   dockerObjects
}

func newSoakBaseline(dir string, settle time.Duration) *soakBaseline {
	return &soakBaseline{pid: os.Getpid(), dir: dir, allowed: map[string]bool{}, settle: settle, fdSlack: soakFDSlack}
}

// allow makes an entry of the work dir (a path in it, or a name) no leak.
func (b *soakBaseline) allow(p string) {
	if p == "" {
		return
	}
	if filepath.IsAbs(p) {
		if filepath.Dir(p) != b.dir {
			return
		}
		p = filepath.Base(p)
	}
	b.allowed[p] = true
}

// Take records what this process holds now.
func (b *soakBaseline) Take(ctx context.Context) error {
	var err error
	if b.docker {
		// First: the Docker client's connections are then closed before
		// descriptors and goroutines are counted.
		if b.objects, err = countDockerObjects(ctx, b.pid); err != nil {
			b.docker = false
		}
	}
	if b.dir != "" {
		entries, err := os.ReadDir(b.dir)
		if err != nil {
			return fmt.Errorf("read the work dir: %w", err)
		}
		for _, e := range entries {
			b.allowed[e.Name()] = true
		}
	}
	if b.fds, err = leakcheck.FDs(); err != nil {
		return err
	}
	b.gids = leakcheck.GoroutineIDs()
	if b.procs, err = leakcheck.Descendants(b.pid); err != nil {
		return err
	}
	b.listeners, err = leakcheck.LoopbackListeners(b.pids(b.procs)...)
	return err
}

func (b *soakBaseline) pids(procs map[int]leakcheck.Process) []int {
	out := []int{b.pid}
	for pid := range procs {
		out = append(out, pid)
	}
	return out
}

// Diff describes what is held now above the baseline, one leak per item
// ("fds +3 (...)", "goroutines +12 (...)"), and notes that are no leak (a
// run directory a failed drill kept). rep is the drill's report, or nil.
// Goroutines, descriptors, processes and listeners are given up to the
// settle time to go.
func (b *soakBaseline) Diff(ctx context.Context, rep *report.Report) (leaks, notes []string) {
	if b.docker {
		if now, err := countDockerObjects(ctx, b.pid); err != nil {
			notes = append(notes, "docker: could not count containers: "+err.Error())
		} else {
			leaks = append(leaks, now.above(b.objects)...)
		}
	}
	if rep != nil {
		if err := leakcheck.Ports(rep.URLs); err != nil {
			leaks = append(leaks, "ports: "+err.Error())
		}
	}
	var (
		fds       map[int]string
		procs     map[int]leakcheck.Process
		listeners map[string]int
		newProcs  []string
		newLis    []string
		newGs     []string
	)
	leakcheck.Poll(b.settle, func() bool {
		fds, _ = leakcheck.FDs()
		procs, _ = leakcheck.Descendants(b.pid)
		listeners, _ = leakcheck.LoopbackListeners(b.pids(procs)...)
		newProcs, newLis = nil, nil
		newGs = leakcheck.NewGoroutines(b.gids, leakcheck.GoroutineIDs())
		for pid, p := range procs {
			if _, ok := b.procs[pid]; !ok {
				newProcs = append(newProcs, p.String())
			}
		}
		for addr, pid := range listeners {
			if _, ok := b.listeners[addr]; !ok {
				newLis = append(newLis, fmt.Sprintf("%s (pid %d)", addr, pid))
			}
		}
		return len(fds)-len(b.fds) <= b.fdSlack && len(newGs) == 0 &&
			len(newProcs) == 0 && len(newLis) == 0
	})
	if n := len(fds) - len(b.fds); n > b.fdSlack {
		var kinds []string
		for fd, target := range fds {
			if b.fds[fd] != target {
				kinds = append(kinds, fdKind(target))
			}
		}
		leaks = append(leaks, fmt.Sprintf("fds +%d (%s)", n, leakcheck.Summarize(kinds, 4)))
	}
	if len(newGs) > 0 {
		leaks = append(leaks, fmt.Sprintf("goroutines +%d (%s)", len(newGs), leakcheck.Summarize(newGs, 3)))
	}
	if len(newProcs) > 0 {
		sort.Strings(newProcs)
		leaks = append(leaks, fmt.Sprintf("processes +%d (%s)", len(newProcs), strings.Join(newProcs, "; ")))
	}
	if len(newLis) > 0 {
		sort.Strings(newLis)
		leaks = append(leaks, fmt.Sprintf("listeners +%d (%s)", len(newLis), strings.Join(newLis, "; ")))
	}
	if b.dir != "" {
		kept := ""
		if rep != nil && rep.Kept && rep.RunDir != "" {
			kept = filepath.Base(rep.RunDir)
		}
		var left []string
		entries, _ := os.ReadDir(b.dir)
		for _, e := range entries {
			switch {
			case b.allowed[e.Name()]:
			case e.Name() == kept:
				// A failed drill keeps its run dir for a post-mortem.
				notes = append(notes, "kept its run dir "+filepath.Join(b.dir, kept)+" (for a post-mortem: not a leak)")
				b.allowed[kept] = true
			default:
				left = append(left, e.Name())
			}
		}
		if len(left) > 0 {
			leaks = append(leaks, fmt.Sprintf("run dirs +%d (%s in %s)", len(left), strings.Join(left, ", "), b.dir))
			// Said once: the next drill is judged on its own.
			for _, n := range left {
				b.allowed[n] = true
			}
		}
	}
	return leaks, notes
}

// fdKind names a descriptor's target for a summary: sockets and pipes by
// kind, files by path.
func fdKind(target string) string {
	for _, k := range []string{"socket", "pipe", "anon_inode"} {
		if strings.HasPrefix(target, k+":") {
			if k == "anon_inode" {
				return target
			}
			return k
		}
	}
	return target
}

// dockerObjects are the Docker objects labelled by this harness process.
type dockerObjects struct {
	containers, networks, volumes []string
}

func (now dockerObjects) above(base dockerObjects) []string {
	var out []string
	for _, k := range []struct {
		kind      string
		now, base []string
	}{{"containers", now.containers, base.containers}, {"networks", now.networks, base.networks}, {"volumes", now.volumes, base.volumes}} {
		var extra []string
		for _, n := range k.now {
			if !slices.Contains(k.base, n) {
				extra = append(extra, n)
			}
		}
		if len(extra) > 0 {
			out = append(out, fmt.Sprintf("docker %s +%d (%s)", k.kind, len(extra), strings.Join(extra, ", ")))
		}
	}
	return out
}

// countDockerObjects lists the containers, networks and volumes labelled
// etcd-drill=true whose harness pid label is pid.
func countDockerObjects(ctx context.Context, pid int) (dockerObjects, error) {
	var out dockerObjects
	container.DisableReaper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		return out, err
	}
	defer p.Close()
	cli := p.Client()
	f := make(client.Filters).Add("label", container.LabelDrill+"=true").Add("label", container.LabelPID+"="+strconv.Itoa(pid))
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return out, err
	}
	for _, c := range cs.Items {
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out.containers = append(out.containers, name)
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return out, err
	}
	for _, n := range ns.Items {
		out.networks = append(out.networks, n.Name)
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return out, err
	}
	for _, v := range vs.Items {
		out.volumes = append(out.volumes, v.Name)
	}
	return out, nil
}
