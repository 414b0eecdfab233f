package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// browser finds headless Chromium (Debian's chromium package). Without one
// the test is skipped, saying so; under CI, which installs it (.ci/run),
// its absence fails.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium on PATH: .ci/run installs Debian's chromium package")
	}
	t.Skip("no Chromium on PATH (apt-get install chromium): the report page is not checked in a browser")
	return ""
}

// dumpDOM loads page in headless Chromium and parses the DOM it built.
func dumpDOM(t *testing.T, chromium, page string) *html.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", page, err, &errOut)
	}
	doc, err := html.Parse(&out)
	if err != nil {
		t.Fatalf("the DOM chromium dumped does not parse: %v", err)
	}
	return doc
}

// screenshot saves what Chromium shows of page to dir/name.png when
// ETCD_DRILL_SCREENSHOTS names a directory: for people to look at.
func screenshot(t *testing.T, chromium, page, name string) {
	dir := os.Getenv("ETCD_DRILL_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := filepath.Join(dir, name+".png")
	if b, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+t.TempDir(),
		"--window-size=1200,2400", "--screenshot="+out, "file://"+page).CombinedOutput(); err != nil {
		t.Errorf("screenshot %s: %v\n%s", out, err, b)
	}
}

// find lists the elements under n that match.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
		out = append(out, find(c, match)...)
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// TestReportPageInABrowser renders the page of a passing drill and of a
// drill made to fail (its runbook deletes a key) in headless Chromium, and
// checks the DOM it built: the verdict, a row per step, the timeline's
// picture with a band per step and the fault's marker, and, for the failed
// drill, a finding row naming the lost key the report names.
func TestReportPageInABrowser(t *testing.T) {
	chromium := browser(t)
	runbook, err := filepath.Abs("../../scenarios/testdata/runbooks/delete-a-key.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		verdict string
		code    int
	}{
		{"passing", nil, "PASS", 0},
		{"failing", []string{"--recovery", "runbook", "--runbook", runbook}, "FAIL", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			page, js := filepath.Join(tmp, "drill.html"), filepath.Join(tmp, "drill.json")
			args := append([]string{"run", scenario, "--keys", "300", "--workdir", t.TempDir(), "--html", page, "--report", js}, tc.args...)
			if r := runCLI(t, tmp, args...); r.code != tc.code {
				t.Fatalf("want exit %d\n%v", tc.code, r)
			}
			var rep struct {
				Steps    []struct{ Name string }
				Findings []struct{ Key string }
			}
			b, err := os.ReadFile(js)
			if err == nil {
				err = json.Unmarshal(b, &rep)
			}
			if err != nil {
				t.Fatal(err)
			}
			doc := dumpDOM(t, chromium, page)
			screenshot(t, chromium, page, tc.name)

			verdict := find(doc, func(n *html.Node) bool { return attr(n, "id") == "verdict" })
			if len(verdict) != 1 || !strings.Contains(text(verdict[0]), tc.verdict) {
				t.Errorf("verdict: %d elements, text %q; want one saying %s", len(verdict), text(verdict[0]), tc.verdict)
			}
			rows := find(doc, func(n *html.Node) bool { return n.Data == "tr" && hasClass(n, "step-row") })
			if len(rows) != len(rep.Steps) || len(rows) == 0 {
				t.Errorf("%d step rows, want one per step of the report (%d)", len(rows), len(rep.Steps))
			}
			timeline := find(doc, func(n *html.Node) bool { return attr(n, "id") == "timeline" })
			if len(timeline) != 1 {
				t.Fatalf("%d timeline sections", len(timeline))
			}
			svgs := find(timeline[0], func(n *html.Node) bool { return n.Data == "svg" })
			if len(svgs) != 1 {
				t.Fatalf("%d svg elements in the timeline, want 1", len(svgs))
			}
			bands := find(svgs[0], func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "step") })
			if len(bands) != len(rep.Steps) {
				t.Errorf("%d step bands in the picture, want %d", len(bands), len(rep.Steps))
			}
			if f := find(svgs[0], func(n *html.Node) bool { return attr(n, "data-event") == "fault" }); len(f) != 1 {
				t.Errorf("%d fault markers in the picture, want 1", len(f))
			}
			findings := find(doc, func(n *html.Node) bool { return n.Data == "tr" && hasClass(n, "finding-row") })
			if tc.verdict == "PASS" {
				if len(findings) != 0 {
					t.Errorf("%d finding rows on a passing drill's page", len(findings))
				}
				return
			}
			if len(rep.Findings) == 0 || len(findings) != len(rep.Findings) || !strings.Contains(text(findings[0]), rep.Findings[0].Key) {
				t.Errorf("%d finding rows for %d findings; want the lost key %v named", len(findings), len(rep.Findings), rep.Findings)
			}
		})
	}
}
