package scenarios

import (
	"context"

	"fmt"
	"strings"
	"testing"

	"github.com/etcd-drill/etcd-drill/harness/backend/container"
)

// BenchmarkDrill times the whole default drill (3 members, 10,000 writes
// before the snapshot) and each of its steps, on each backend. Targets on 2
// cores: embedded in 3 s or less with the workload at 5,000 or more
// acknowledged writes/s; process in 5 s or less; container in 10 s or less
// (the image build excluded: it is built before the first drill).
//
//	go test -run '^$' -bench Drill -benchtime 3x ./scenarios
func BenchmarkDrill(b *testing.B) {
	for _, backend := range []string{"embedded", "process", "container"} {
		b.Run(backend, func(b *testing.B) {
			if backend == "container" {
				if err := container.Available(context.Background()); err != nil {
					b.Skip(err)
				}
			}
			benchDrill(b, backend)
		})
	}
}

func benchDrill(b *testing.B, backend string) {
	sc, err := Lookup("quorum-loss/snapshot-restore")
	if err != nil {
		b.Fatal(err)
	}
	steps := map[string]float64{}
	var order []string
	var total, acked, rto float64
	runs := 0
	for b.Loop() {
		runs++
		o := DefaultOptions()
		o.Backend = backend
		o.BaseDir = b.TempDir()
		o.Seed = uint64(runs)
		rep, err := Run(context.Background(), sc, o)
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Passed {
			b.Fatalf("drill failed: %v", rep.Failures)
		}
		for _, s := range rep.Steps {
			if _, ok := steps[s.Name]; !ok {
				order = append(order, s.Name)
			}
			steps[s.Name] += s.Seconds
		}
		total += rep.Seconds
		acked += rep.Workload.AckedPerSecond
		rto += rep.RTOSeconds
	}
	n := float64(runs)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s backend, mean of %d drills, 3 members, 10,000 writes:\n", backend, runs)
	for _, name := range order {
		fmt.Fprintf(&sb, "  %-24s %7.3fs\n", name, steps[name]/n)
	}
	fmt.Fprintf(&sb, "  %-24s %7.3fs\n  %-24s %7.0f\n  %-24s %7.3fs\n", "whole drill", total/n, "acked writes/s", acked/n, "RTO", rto/n)
	fmt.Print(sb.String())
	b.ReportMetric(total/n, "s/drill")
	b.ReportMetric(acked/n, "acked-writes/s")
	b.ReportMetric(rto/n, "s-RTO")
	b.ReportMetric(steps["workload"]/n, "s/workload")
}
