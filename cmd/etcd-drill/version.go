package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/etcd-drill/etcd-drill/harness/backend/embedded"
	"github.com/etcd-drill/etcd-drill/harness/bins"
)

// cmdVersion prints, as etcdctl version does, etcd-drill's own version (its
// module version, or the commit it was built from), the etcd linked in, and
// the etcd binaries it finds for the process and container backends.
func cmdVersion(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return badInput("version takes no arguments, got %q", args[0])
	}
	v, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				rev += " (modified)"
			}
		}
	}
	fmt.Fprintf(stdout, "etcd-drill version: %s\n", v)
	if rev != "" {
		fmt.Fprintf(stdout, "Git SHA: %s\n", rev)
	}
	linked := embedded.New().EtcdVersion()
	fmt.Fprintf(stdout, "etcd Version: %s (linked in: the embedded backend)\nAPI version: %s\n", linked, bins.MinorLine(linked))
	for _, line := range []string{"3.5", "3.6", "3.7"} {
		b, err := bins.FindVersion("", line)
		if err != nil {
			fmt.Fprintf(stdout, "etcd %s binaries: none (make bins-all VERSIONS=%s)\n", line, line)
			continue
		}
		bv, err := b.Version()
		if err != nil {
			bv = "unreadable: " + err.Error()
		}
		fmt.Fprintf(stdout, "etcd %s binaries: %s in %s\n", line, bv, b.Dir)
	}
	fmt.Fprintf(stdout, "Go version: %s\nGo OS/Arch: %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
