package main

import "testing"

// TestLargestValues: a drill of values at etcd-drill's limit (1 MiB, below
// etcd's 1.5 MiB request limit) writes, restores and verifies them: the
// read-back pages by bytes, not by a fixed number of keys.
func TestLargestValues(t *testing.T) {
	m := runPassing(t, "", "run", scenario, "--keys", "300", "--value-size", "1048576", "--concurrency", "16")
	if got := num(t, m, "workload.value_size"); got != 1<<20 {
		t.Fatalf("report workload.value_size = %v, want 1 MiB", got)
	}
	// Keys a write in doubt explains may be there or not.
	restored, expected, doubt := num(t, m, "keys.restored"), num(t, m, "keys.expected"), num(t, m, "keys.indeterminate")
	if expected == 0 || restored < expected-doubt || restored > expected+doubt {
		t.Fatalf("keys restored %v of %v expected (%v in doubt)", restored, expected, doubt)
	}
}
