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
	if restored := num(t, m, "keys.restored"); restored == 0 || restored != num(t, m, "keys.expected") {
		t.Fatalf("keys restored %v of %v expected", restored, num(t, m, "keys.expected"))
	}
}
