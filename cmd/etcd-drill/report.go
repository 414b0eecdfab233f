package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/etcd-drill/etcd-drill/harness/report"
)

// cmdReport re-renders a kept drill: its summary on stdout, its timeline
// picture and its HTML page, from its report.json (or a run directory that
// holds one).
func cmdReport(_ context.Context, args []string, stdout, _ io.Writer) (int, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	htmlPath := fs.String("html", "", "write the HTML page here (default: report.html beside the report)")
	svgPath := fs.String("svg", "", "write the timeline picture here (default: timeline.svg beside the report)")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: etcd-drill report RUN_DIR|REPORT_JSON [--html FILE] [--svg FILE]\n\nre-renders a kept drill: the summary, the timeline picture and the HTML page\n\nflags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0, errHelp
	}
	if err != nil {
		return 2, badInput("report: %v", err)
	}
	if len(pos) != 1 {
		return 2, badInput("report needs one run directory or report.json (a drill run with --keep, or one that failed, keeps them), got %d arguments", len(pos))
	}
	path := pos[0]
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "report.json")
	}
	rep, err := report.Read(path)
	if err != nil {
		return 2, badInput("report %s: %v", pos[0], err)
	}
	dir := filepath.Dir(path)
	if *svgPath == "" {
		*svgPath = filepath.Join(dir, "timeline.svg")
	}
	if *htmlPath == "" {
		*htmlPath = filepath.Join(dir, "report.html")
	}
	for _, out := range []struct{ flag, path string }{{"--svg", *svgPath}, {"--html", *htmlPath}} {
		if err := checkWritable(out.path); err != nil {
			return 2, badInput("%s %s: %v", out.flag, out.path, err)
		}
	}
	rep.WriteSummary(stdout, false)
	if err := writePictures(rep, *svgPath, *htmlPath); err != nil {
		return 1, err
	}
	fmt.Fprintf(stdout, "timeline: %s\npage:     %s\n", *svgPath, *htmlPath)
	if !rep.Passed {
		return 1, nil
	}
	return 0, nil
}

// writePictures writes the drill's timeline picture to svgPath and its page
// to htmlPath, each if set.
func writePictures(rep *report.Report, svgPath, htmlPath string) error {
	if svgPath != "" {
		if err := os.WriteFile(svgPath, rep.TimelineSVG(), 0o644); err != nil {
			return fmt.Errorf("write the timeline: %w", err)
		}
	}
	if htmlPath != "" {
		var b bytes.Buffer
		if err := rep.WriteHTML(&b); err != nil {
			return fmt.Errorf("render the page: %w", err)
		}
		if err := os.WriteFile(htmlPath, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write the page: %w", err)
		}
	}
	return nil
}
