package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/scenarios"
)

var errHelp = errors.New("help shown")

type runFlags struct {
	opts       scenarios.Options
	reportPath string
	junitPath  string
	htmlPath   string
}

func newRunFlags() (*flag.FlagSet, *runFlags) {
	rf := &runFlags{opts: scenarios.DefaultOptions()}
	o := &rf.opts
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// Parse calls Usage on -h and on every parse error: a bad flag must give
	// one line on stderr only, and --help its usage once, so Parse's call
	// does nothing and cmdRun prints the usage itself (printRunUsage).
	fs.Usage = func() {}
	fs.StringVar(&o.Backend, "backend", o.Backend, "cluster backend: "+strings.Join(scenarios.Backends(), ", "))
	fs.StringVar(&o.Image, "image", "", "etcd image of the container backend (default: etcd-drill/etcd:VERSION, built from the binaries)")
	fs.StringVar(&o.EtcdVersion, "etcd-version", "", "etcd version X.Y or X.Y.Z to run on the process and container backends (default: the pinned one; others: make bins-all)")
	fs.StringVar(&o.RestoreVersion, "restore-version", "", "restore the snapshot with this etcd version's etcdutl and serve it on its etcd (process backend; see etcd-drill matrix)")
	fs.StringVar(&o.EtcdVersion, "from", "", "upgrade/* and downgrade/* scenarios: the etcd version X.Y[.Z] the cluster starts on (the same as --etcd-version)")
	fs.StringVar(&o.UpgradeTo, "to", "", "upgrade/* and downgrade/* scenarios: the etcd version X.Y[.Z] to move the cluster to in place (process backend; make bins-all)")
	fs.Func("path", "upgrade/hops: every version X.Y[.Z] the cluster goes through, its own first, comma-separated (default: --from, every line between, --to)", func(s string) error {
		o.Path = nil
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				o.Path = append(o.Path, v)
			}
		}
		return nil
	})
	fs.IntVar(&o.HopWrites, "hop-writes", o.HopWrites, "upgrade/* and downgrade/*: writes acknowledged after each hop, before its check")
	fs.BoolVar(&o.Migrate, "migrate", false, "with --restore-version of an older line: migrate each restored data dir down to it with --etcd-version's etcdutl first (the operator's way down)")
	fs.StringVar(&o.BinDir, "bin-dir", "", "directory of the etcd, etcdctl and etcdutl binaries (default: $ETCD_DRILL_BIN_DIR, else bin/ here or above, else PATH)")
	fs.IntVar(&o.Members, "members", o.Members, "cluster size, 1 to 9")
	fs.IntVar(&o.Keys, "keys", o.Keys, "writes before the snapshot")
	fs.IntVar(&o.WritesAfter, "writes-after", o.WritesAfter, "writes after the snapshot (the RPO window); -1 means 1% of --keys, at least 10")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the workload's choices")
	fs.IntVar(&o.Workload.Concurrency, "concurrency", o.Workload.Concurrency, "concurrent writers")
	fs.IntVar(&o.Workload.ValueSize, "value-size", o.Workload.ValueSize, "bytes per value")
	fs.StringVar(&o.Traffic, "traffic", o.Traffic, "continuous: writers run through the backup, the fault and the recovery, then move to the recovered cluster; phased: writes on a healthy cluster only")
	fs.IntVar(&o.TrafficRate, "traffic-rate", o.TrafficRate, "with continuous traffic, writes a second over every writer, and no more than 16 MiB of values a second (0: as fast as the cluster takes them)")
	fs.IntVar(&o.WritesRecovered, "writes-recovered", o.WritesRecovered, "with continuous traffic, writes the recovered cluster must acknowledge before the writers stop; -1 means as many as --writes-after")
	fs.BoolVar(&o.Compact, "compact", o.Compact, "compact the history at half its revision before the backup (--compact=false: do not)")
	fs.Float64Var(&o.Workload.ReadRatio, "read-ratio", o.Workload.ReadRatio, "chance that a writer reads back one of its keys after a write (0 to 1)")
	fs.Float64Var(&o.Workload.TxnRatio, "txn-ratio", o.Workload.TxnRatio, "chance that a writer's next write is a transaction of --txn-size puts (0 to 1)")
	fs.IntVar(&o.Workload.TxnSize, "txn-size", o.Workload.TxnSize, "puts per transaction (2 or more)")
	fs.Func("batch", "write in transactions of N puts only (--txn-ratio 1 --txn-size N), for large --keys", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > 100 {
			return errors.New("must be a number of puts between 2 and 100")
		}
		o.Workload.TxnRatio, o.Workload.TxnSize = 1, n
		return nil
	})
	fs.StringVar(&o.Recovery, "recovery", "", "replace the scenario's recovery: runbook (with --runbook)")
	fs.StringVar(&o.Runbook, "runbook", "", "the operator's recovery executable, run as FILE backup and FILE restore (see README)")
	fs.DurationVar(&o.RunbookTimeout, "runbook-timeout", 2*time.Minute, "bound on each runbook phase, and on the wait for the cluster it brings up")
	fs.Int64Var(&o.MaxLogBytes, "max-log-bytes", 0, "cap of each member log and runbook output: the head and the tail are kept (default 32 MiB)")
	fs.DurationVar(&o.Timeout, "timeout", 0, "bound on the whole drill (default: the sum of its steps' deadlines, which follow from --keys, --members and --election; see README)")
	fs.StringVar(&rf.reportPath, "report", "", "write the JSON report to this file")
	fs.StringVar(&rf.htmlPath, "html", "", "write a self-contained HTML page of the drill: verdict, steps, timeline, findings, panics with their logs")
	fs.StringVar(&rf.junitPath, "junit", "", "write a JUnit XML file: one testcase per step and per assertion, a failed one with its finding")
	fs.BoolVar(&o.Auth, "auth", false, "run with etcd's authentication: a root user and a workload user allowed its prefix only, enabled before the workload and checked after the recovery (auth-lost)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the run directory (data dirs, logs, snapshot) for a post-mortem")
	fs.StringVar(&o.BaseDir, "workdir", "", "where to make the run directory (default: the system temp dir)")
	fs.BoolVar(&o.NoFsync, "unsafe-no-fsync", false, "run members without fsync (faster, less real)")
	fs.DurationVar(&o.Timing.Heartbeat, "heartbeat", o.Timing.Heartbeat, "raft heartbeat interval of members")
	fs.DurationVar(&o.Timing.Election, "election", o.Timing.Election, "raft election timeout of members")
	return fs, rf
}

// printRunUsage writes run's usage and flags to w.
func printRunUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintln(w, "usage: etcd-drill run SCENARIO [flags]\n\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseInterleaved parses flags that may stand before and after positional
// arguments, and returns the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs, rf := newRunFlags()
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printRunUsage(fs, stdout)
		return 0, errHelp
	}
	if err != nil {
		return 2, badInput("run: %v", err)
	}
	if len(pos) != 1 {
		return 2, badInput("run needs exactly one scenario (see etcd-drill list), got %d arguments", len(pos))
	}
	sc, err := scenarios.Lookup(pos[0])
	if err != nil {
		return 2, badInput("%v", err)
	}
	if err := scenarios.Validate(sc, rf.opts); err != nil {
		return 2, badInput("%v", err)
	}
	for _, out := range []struct{ flag, path string }{{"--report", rf.reportPath}, {"--junit", rf.junitPath}, {"--html", rf.htmlPath}} {
		if out.path == "" {
			continue
		}
		if err := checkWritable(out.path); err != nil {
			return 2, badInput("%s %s: %v", out.flag, out.path, err)
		}
	}
	if rf.opts.BaseDir != "" {
		if fi, err := os.Stat(rf.opts.BaseDir); err != nil || !fi.IsDir() {
			return 2, badInput("--workdir %s: not a directory", rf.opts.BaseDir)
		}
	}
	if err := scenarios.CheckEnvironment(ctx, rf.opts); err != nil {
		return 2, badInput("%v", err)
	}

	softMemoryLimit(rf.opts.Keys, rf.opts.Workload.ValueSize, rf.opts.Members)

	bar := newProgressBar(stdout)
	// The header waits for the first step: Run may still refuse the input
	// (exit 2, nothing on stdout).
	var header sync.Once
	printHeader := func() {
		header.Do(func() {
			fmt.Fprintf(stdout, "etcd-drill %s  backend=%s members=%d keys=%d seed=%d\n",
				sc.Name, rf.opts.Backend, rf.opts.Members, rf.opts.Keys, rf.opts.Seed)
		})
	}
	rf.opts.Progress = func(phase string, done, total int) {
		printHeader()
		bar.update(phase, done, total)
	}
	rf.opts.OnStep = func(s report.Step) {
		printHeader()
		bar.clear()
		fmt.Fprintln(stdout, report.StepLine(s))
	}
	rf.opts.OnStepStart = signalFailpoint(os.Getenv(failpointSignal))
	rep, runErr := scenarios.Run(ctx, sc, rf.opts)
	if errors.Is(runErr, scenarios.ErrBadInput) {
		// Run wraps as "%w: %w": errors.Unwrap of that is nil.
		return 2, badInput("%s", strings.TrimPrefix(runErr.Error(), scenarios.ErrBadInput.Error()+": "))
	}
	printHeader()
	if rep == nil {
		return 1, runErr
	}
	rep.WriteSummary(stdout, false)
	if rf.reportPath != "" {
		if err := rep.WriteFile(rf.reportPath); err != nil {
			return 1, err
		}
	}
	if rf.junitPath != "" {
		if err := report.WriteJUnit(rf.junitPath, rep.JUnit()); err != nil {
			return 1, err
		}
	}
	if rf.htmlPath != "" {
		if err := writePictures(rep, "", rf.htmlPath); err != nil {
			return 1, err
		}
	}
	if !rep.Passed {
		return 1, nil
	}
	return 0, nil
}

// checkWritable makes sure the report can be written before the drill runs.
func checkWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return errors.New("is a directory")
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory %s does not exist", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".etcd-drill-check-*")
	if err != nil {
		return fmt.Errorf("directory %s is not writable", dir)
	}
	f.Close()
	return os.Remove(f.Name())
}

// progressBar draws the workload's progress when stdout is a terminal.
type progressBar struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	last  time.Time
	shown bool
}

func newProgressBar(w io.Writer) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, tty: tty}
}

func (p *progressBar) update(phase string, done, total int) {
	if !p.tty || total <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if done < total && now.Sub(p.last) < 50*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	fill := width * done / total
	fmt.Fprintf(p.w, "\r  %-24s [%s%s] %d/%d", phase, strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, total)
	p.shown = true
}

func (p *progressBar) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// failpointSignal names a failpoint, as etcd's gofail does for its tests:
// STEP:INT or STEP:TERM makes the drill send itself that signal as the step
// begins, so that a test interrupts each step at a known moment through the
// real signal path. Unset, it does nothing.
const failpointSignal = "ETCD_DRILL_FAILPOINT_SIGNAL"

func signalFailpoint(spec string) func(step string) {
	step, name, ok := strings.Cut(spec, ":")
	if !ok {
		return nil
	}
	sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM}[name]
	if sig == 0 {
		return nil
	}
	return func(s string) {
		if s == step {
			_ = syscall.Kill(os.Getpid(), sig)
		}
	}
}

// softMemoryLimit bounds the Go heap's headroom, unless GOMEMLIMIT is set:
// 1.5 GiB for every million writes, at least 1.5 GiB, plus twice the
// bytes of values beyond 1 KiB that every member holds. At the default
// GOGC a heap may grow to twice what is live; a 1M-key drill on the
// embedded backend holds about 1 GB live (its members' indexes, the
// ledger, the history) and peaked at 3 to 4 GB of RSS without a limit,
// 2.0 GB with it, at the same wall time. Large values are held whole by
// each member's raft log: a limit below them would make the GC run
// without end (CI: 300 writes of 1 MiB crawled at 21 writes/s).
func softMemoryLimit(keys, valueSize, members int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	const perMillion = 3 << 29 // 1.5 GiB
	limit := perMillion * max(1, int64(keys+999_999)/1_000_000)
	limit += 2 * int64(members) * int64(keys) * int64(max(0, valueSize-1024))
	debug.SetMemoryLimit(limit)
}
