package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/scenarios"
)

// etcd-drill matrix restores, for each pair of etcd versions (A, B), a
// snapshot that A's etcdctl saved from a cluster of A under the ledgered
// workload with B's etcdutl, serves it on B, and verifies it as every drill
// is: upgrade qualification of backups.

const defaultMatrixVersions = "3.5,3.6,3.7"

// matrixConfig is a matrix: its flags, and what tests change.
type matrixConfig struct {
	from, to   []string
	scenario   string
	keys       int
	seed       uint64
	binDir     string
	workDir    string
	reportPath string
	junitPath  string
	// run runs one cell (scenarios.Run if nil); incompatible lists the
	// declared incompatibilities (scenarios.Incompatibilities if nil).
	run          func(context.Context, scenarios.Scenario, scenarios.Options) (*report.Report, error)
	incompatible []scenarios.Incompatibility
}

// matrixCell is one pair's outcome, as the JSON report holds it.
type matrixCell struct {
	From string `json:"from"`
	To   string `json:"to"`
	// FromVersion and ToVersion are what the members said they ran.
	FromVersion string `json:"from_version,omitempty"`
	ToVersion   string `json:"to_version,omitempty"`
	// Result is pass, fail (an assertion failed), refused (the restore or
	// the restored members' start failed: etcd's own message in Detail),
	// or error (the drill could not run).
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
	// Declared is the declared incompatibility of this pair, if any: its
	// failure does not fail the matrix.
	Declared string  `json:"declared,omitempty"`
	Seconds  float64 `json:"seconds"`
	RunDir   string  `json:"run_dir,omitempty"`
}

func (c matrixCell) ok() bool { return c.Result == "pass" || c.Declared != "" }

func newMatrixFlags() (*flag.FlagSet, *matrixConfig, *string, *string) {
	cfg := &matrixConfig{}
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	from, to := new(string), new(string)
	fs.StringVar(from, "from", defaultMatrixVersions, "versions of the clusters whose snapshots are taken, comma-separated (X.Y or X.Y.Z)")
	fs.StringVar(to, "to", defaultMatrixVersions, "versions that restore and serve them, comma-separated")
	fs.StringVar(&cfg.scenario, "scenario", "quorum-loss/snapshot-restore", "scenario of each cell: one that restores a snapshot")
	fs.IntVar(&cfg.keys, "keys", 3000, "writes before the snapshot, in each cell")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of each cell's workload")
	fs.StringVar(&cfg.binDir, "bin-dir", "", "directory of the pinned binaries, beside which make bins-all put the others (see run --help)")
	fs.StringVar(&cfg.workDir, "workdir", "", "where the cells make their run directories (default: the system temp dir)")
	fs.StringVar(&cfg.reportPath, "report", "", "write the cells as JSON there")
	fs.StringVar(&cfg.junitPath, "junit", "", "write the cells as a JUnit XML report there (one test case a cell)")
	return fs, cfg, from, to
}

func cmdMatrix(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
	return runMatrix(ctx, args, stdout, nil, nil)
}

// runMatrix is cmdMatrix with the cells run by run and the declared
// incompatibilities incompatible (the real ones if nil: tests change them).
func runMatrix(ctx context.Context, args []string, stdout io.Writer,
	run func(context.Context, scenarios.Scenario, scenarios.Options) (*report.Report, error), incompatible []scenarios.Incompatibility) (int, error) {
	fs, cfg, from, to := newMatrixFlags()
	cfg.run, cfg.incompatible = run, incompatible
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: etcd-drill matrix [--from 3.5,3.6,3.7] [--to 3.5,3.6,3.7] [flags]\n\nrestores each version's snapshot on each version (process backend) and verifies it; exit 1 if a cell not declared incompatible fails\n\nflags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0, errHelp
	}
	if err != nil {
		return 2, badInput("matrix: %v", err)
	}
	if len(pos) > 0 {
		return 2, badInput("matrix takes no arguments, got %q (--scenario names the scenario)", pos[0])
	}
	if cfg.from, err = versionList("--from", *from); err != nil {
		return 2, badInput("%v", err)
	}
	if cfg.to, err = versionList("--to", *to); err != nil {
		return 2, badInput("%v", err)
	}
	sc, err := scenarios.Lookup(cfg.scenario)
	if err != nil {
		return 2, badInput("--scenario: %v", err)
	}
	for _, pair := range cfg.pairs() {
		o := cfg.options(pair[0], pair[1])
		if err := scenarios.Validate(sc, o); err != nil {
			return 2, badInput("%v", err)
		}
		if cfg.run == nil {
			if err := scenarios.CheckEnvironment(ctx, o); err != nil {
				return 2, badInput("%v", err)
			}
			if _, err := bins.FindVersion(cfg.binDir, pair[1]); err != nil {
				return 2, badInput("%v", err)
			}
		}
	}
	for _, p := range []*string{&cfg.reportPath, &cfg.junitPath} {
		if *p != "" {
			if err := checkWritable(*p); err != nil {
				return 2, badInput("%s: %v", *p, err)
			}
		}
	}
	if cfg.run == nil {
		cfg.run = scenarios.Run
	}
	if cfg.incompatible == nil {
		cfg.incompatible = scenarios.Incompatibilities()
	}

	fmt.Fprintf(stdout, "etcd-drill matrix  %s, %d keys, process backend: snapshot of FROM restored and served by TO\n", cfg.scenario, cfg.keys)
	var cells []matrixCell
	for _, pair := range cfg.pairs() {
		if ctx.Err() != nil {
			break
		}
		c := cfg.cell(ctx, sc, pair[0], pair[1])
		fmt.Fprintf(stdout, "  %-6s -> %-6s %-8s %6.1fs  %s\n", c.From, c.To, c.Result, c.Seconds, oneLine(c.Detail, 160))
		cells = append(cells, c)
	}
	printMatrix(stdout, cfg, cells)
	failed := 0
	for _, c := range cells {
		if !c.ok() {
			failed++
		}
	}
	if err := cfg.write(cells); err != nil {
		return 1, err
	}
	if ctx.Err() != nil {
		return 1, fmt.Errorf("matrix stopped after %d of %d cells: %w", len(cells), len(cfg.pairs()), context.Cause(ctx))
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "FAIL %d of %d cells\n", failed, len(cells))
		return 1, nil
	}
	fmt.Fprintf(stdout, "PASS %d cells\n", len(cells))
	return 0, nil
}

// versionList parses a comma-separated list of versions.
func versionList(flagName, s string) ([]string, error) {
	var out []string
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if err := bins.ValidVersion(v); err != nil {
			return nil, fmt.Errorf("%s %s: %w", flagName, s, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (cfg *matrixConfig) pairs() [][2]string {
	var out [][2]string
	for _, f := range cfg.from {
		for _, t := range cfg.to {
			out = append(out, [2]string{f, t})
		}
	}
	return out
}

func (cfg *matrixConfig) options(from, to string) scenarios.Options {
	o := scenarios.DefaultOptions()
	o.Backend, o.EtcdVersion, o.RestoreVersion = "process", from, to
	o.Keys, o.Seed, o.BinDir, o.BaseDir = cfg.keys, cfg.seed, cfg.binDir, cfg.workDir
	return o
}

// cell runs one pair and sorts its outcome.
func (cfg *matrixConfig) cell(ctx context.Context, sc scenarios.Scenario, from, to string) matrixCell {
	c := matrixCell{From: from, To: to}
	if in, ok := scenarios.Declared(cfg.incompatible, from, to); ok {
		c.Declared = in.Reason + " (" + in.Ref + ")"
	}
	start := time.Now()
	rep, err := cfg.run(ctx, sc, cfg.options(from, to))
	c.Seconds = time.Since(start).Seconds()
	if rep != nil {
		c.RunDir = rep.RunDir
		if !rep.Kept {
			c.RunDir = ""
		}
		for name, v := range rep.MemberVersions {
			if strings.HasPrefix(name, "m") {
				c.FromVersion = v
			} else {
				c.ToVersion = v
			}
		}
	}
	switch {
	case rep == nil:
		c.Result, c.Detail = "error", fmt.Sprint(err)
	case rep.Passed:
		c.Result = "pass"
	case failedStep(rep, "recover") != "":
		c.Result, c.Detail = "refused", failedStep(rep, "recover")
	default:
		c.Result = "fail"
		if len(rep.Failures) > 0 {
			c.Detail = rep.Failures[0]
		} else if err != nil {
			c.Detail = err.Error()
		}
	}
	return c
}

// failedStep is the error of the step called name, if it failed.
func failedStep(rep *report.Report, name string) string {
	for _, s := range rep.Steps {
		if s.Name == name && s.Error != "" {
			return s.Error
		}
	}
	return ""
}

// printMatrix prints the cells as a table, FROM down and TO across.
func printMatrix(w io.Writer, cfg *matrixConfig, cells []matrixCell) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nfrom \\ to\t%s\n", strings.Join(cfg.to, "\t"))
	for _, f := range cfg.from {
		row := []string{f}
		for _, t := range cfg.to {
			mark := "-"
			for _, c := range cells {
				if c.From == f && c.To == t {
					mark = c.Result
					if c.Declared != "" {
						mark += " (declared incompatible)"
					}
				}
			}
			row = append(row, mark)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	for _, c := range cells {
		if c.Result != "pass" {
			fmt.Fprintf(w, "%s -> %s: %s: %s\n", c.From, c.To, c.Result, oneLine(c.Detail, 400))
		}
		if c.Declared != "" {
			fmt.Fprintf(w, "%s -> %s: declared incompatible: %s\n", c.From, c.To, c.Declared)
		}
	}
}

// write writes the JSON and JUnit reports asked for.
func (cfg *matrixConfig) write(cells []matrixCell) error {
	if cfg.reportPath != "" {
		data, err := json.MarshalIndent(struct {
			Scenario string       `json:"scenario"`
			Keys     int          `json:"keys"`
			Cells    []matrixCell `json:"cells"`
		}{cfg.scenario, cfg.keys, cells}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.reportPath, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("write --report: %w", err)
		}
	}
	if cfg.junitPath != "" {
		suite := report.JUnitSuite{Name: "etcd-drill matrix " + cfg.scenario}
		for _, c := range cells {
			tc := report.JUnitCase{Name: c.From + " -> " + c.To, Classname: cfg.scenario, Time: report.Seconds(c.Seconds)}
			switch {
			case !c.ok():
				tc.Failure = report.Fail(c.Result, c.Detail)
			case c.Result != "pass":
				tc.Skipped = &report.JUnitSkipped{Message: c.Result + " as declared incompatible: " + c.Declared + ": " + c.Detail}
			}
			suite.Time += report.Seconds(c.Seconds)
			suite.Add(tc)
		}
		if err := report.WriteJUnit(cfg.junitPath, suite); err != nil {
			return fmt.Errorf("write --junit: %w", err)
		}
	}
	return nil
}
