package ports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// freeWindow finds n consecutive ports that nobody (no listener, no
// etcd-drill run) holds right now, and returns them as a Range. It searches
// above the kernel's default ephemeral range and above the allocator's
// default range, so drills running on this machine at the same time do not
// take ports out of the test's range behind its back.
func freeWindow(t *testing.T, n int) Range {
	t.Helper()
	const low, high = 61000, 65000
	// Start at a different place in each test so tests that run one after
	// the other do not trip over each other's TIME_WAIT leftovers.
	start := low + int(time.Now().UnixNano()%int64(high-low-n))
	for tries := 0; tries < high-low; tries++ {
		base := low + (start-low+tries*n)%(high-low-n)
		ok := true
		for p := base; p < base+n && ok; p++ {
			ok = portFree(p)
		}
		if ok {
			return Range{Low: base, High: base + n - 1}
		}
	}
	t.Fatalf("no window of %d free ports in %d-%d", n, low, high)
	return Range{}
}

// portFree reports whether p can be locked and bound right now (and leaves
// it free).
func portFree(p int) bool {
	lock, err := lockPort(p)
	if err != nil {
		return false
	}
	defer lock.Close()
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func span(r Range) []int {
	var ps []int
	for p := r.Low; p <= r.High; p++ {
		ps = append(ps, p)
	}
	return ps
}

func reserve(t *testing.T, a *Allocator, n int) []int {
	t.Helper()
	got, err := a.Reserve(n)
	if err != nil {
		t.Fatalf("Reserve(%d): %v", n, err)
	}
	if len(got) != n {
		t.Fatalf("Reserve(%d) returned %d ports: %v", n, len(got), got)
	}
	return got
}

func inRange(t *testing.T, r Range, ps []int) {
	t.Helper()
	for _, p := range ps {
		if p < r.Low || p > r.High {
			t.Errorf("port %d outside range %d-%d", p, r.Low, r.High)
		}
	}
}

func noDuplicates(t *testing.T, ps []int) {
	t.Helper()
	seen := map[int]bool{}
	for _, p := range ps {
		if seen[p] {
			t.Errorf("port %d handed out twice (all: %v)", p, ps)
		}
		seen[p] = true
	}
}

// expectReleasedAll checks that a holds no port of r any more (after, say,
// a failed Reserve or a ReleaseAll), and that the locks were really given
// back, not only forgotten: another allocator can take the whole range. It
// returns that allocator, holding all of r, released when t ends.
func expectReleasedAll(t *testing.T, a *Allocator, r Range, after string) *Allocator {
	t.Helper()
	if a.Held() != 0 {
		t.Errorf("after %s, Held() = %d, want 0", after, a.Held())
	}
	b := NewWithRange(r)
	t.Cleanup(b.ReleaseAll)
	got := reserve(t, b, r.High-r.Low+1)
	slices.Sort(got)
	if !slices.Equal(got, span(r)) {
		t.Errorf("after %s another allocator got %v, want %v", after, got, span(r))
	}
	return b
}

func expectExhausted(t *testing.T, a *Allocator, n int) {
	t.Helper()
	got, err := a.Reserve(n)
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("Reserve(%d) = %v, %v; want an error wrapping ErrExhausted", n, got, err)
	}
	if got != nil {
		t.Errorf("Reserve(%d) failed but returned ports %v", n, got)
	}
}

// Two allocators stand for two drills on one machine: between them they
// must never hand out one port twice, and together they use up the range.
func TestTwoAllocatorsNeverShareAPort(t *testing.T) {
	r := freeWindow(t, 12)
	a, b := NewWithRange(r), NewWithRange(r)
	defer a.ReleaseAll()
	defer b.ReleaseAll()

	pa := reserve(t, a, 5)
	pb := reserve(t, b, 7)
	all := append(slices.Clone(pa), pb...)
	inRange(t, r, all)
	noDuplicates(t, all)
	if a.Held() != 5 || b.Held() != 7 {
		t.Errorf("Held: a %d, b %d; want 5 and 7", a.Held(), b.Held())
	}
	// The range is used up: neither may take one more, not even the one
	// that already holds ports (it must not hand out its own ports again).
	expectExhausted(t, a, 1)
	expectExhausted(t, b, 1)
	if a.Held() != 5 || b.Held() != 7 {
		t.Errorf("after failed reserves Held: a %d, b %d; want 5 and 7", a.Held(), b.Held())
	}
}

// The same, with both drills reserving at once, one port at a time.
func TestTwoAllocatorsConcurrently(t *testing.T) {
	r := freeWindow(t, 40)
	allocs := []*Allocator{NewWithRange(r), NewWithRange(r)}
	got := make([][]int, len(allocs))
	var wg sync.WaitGroup
	for i, a := range allocs {
		defer a.ReleaseAll()
		wg.Go(func() {
			for {
				ps, err := a.Reserve(1)
				if err != nil {
					if !errors.Is(err, ErrExhausted) {
						t.Errorf("allocator %d: %v", i, err)
					}
					return
				}
				got[i] = append(got[i], ps...)
			}
		})
	}
	wg.Wait()
	all := append(slices.Clone(got[0]), got[1]...)
	inRange(t, r, all)
	noDuplicates(t, all)
	if len(all) != 40 {
		t.Errorf("the two allocators got %d ports between them (%d + %d); want all 40", len(all), len(got[0]), len(got[1]))
	}
	for i, a := range allocs {
		if a.Held() != len(got[i]) {
			t.Errorf("allocator %d: Held() = %d, handed out %d", i, a.Held(), len(got[i]))
		}
	}
}

func TestReleasedPortCanBeReservedAgain(t *testing.T) {
	r := freeWindow(t, 1)
	a, b := NewWithRange(r), NewWithRange(r)
	defer a.ReleaseAll()
	defer b.ReleaseAll()

	p := reserve(t, a, 1)[0]
	if p != r.Low {
		t.Fatalf("got port %d, want %d (the only one in range)", p, r.Low)
	}
	expectExhausted(t, a, 1) // a does not hand out what it holds
	expectExhausted(t, b, 1) // nor does anyone else get it

	a.Release(p)
	if a.Held() != 0 {
		t.Errorf("after Release, a.Held() = %d, want 0", a.Held())
	}
	if q := reserve(t, b, 1)[0]; q != p {
		t.Errorf("after release b got %d, want %d", q, p)
	}
	expectExhausted(t, a, 1)

	// Releasing a port one does not hold is a no-op: b keeps it.
	a.Release(p)
	if b.Held() != 1 {
		t.Errorf("b.Held() = %d after a released a port it does not hold, want 1", b.Held())
	}
	expectExhausted(t, a, 1)

	b.Release(p)
	if q := reserve(t, a, 1)[0]; q != p {
		t.Errorf("after second release a got %d, want %d", q, p)
	}
}

func TestPortWithOtherListenerIsSkipped(t *testing.T) {
	for _, tc := range []struct {
		name string
		addr func(p int) string
	}{
		{"loopback", func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }},
		// A program listening on every interface also keeps etcd from
		// binding 127.0.0.1 there.
		{"all interfaces", func(p int) string { return ":" + strconv.Itoa(p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := freeWindow(t, 3)
			busy := r.Low + 1
			l, err := net.Listen("tcp", tc.addr(busy))
			if err != nil {
				t.Fatalf("listen on %d: %v", busy, err)
			}
			defer l.Close()

			a := NewWithRange(r)
			defer a.ReleaseAll()
			got := reserve(t, a, 2)
			slices.Sort(got)
			if want := []int{r.Low, r.High}; !slices.Equal(got, want) {
				t.Errorf("Reserve(2) = %v, want %v (port %d is taken by a listener)", got, want, busy)
			}

			b := NewWithRange(r)
			defer b.ReleaseAll()
			expectExhausted(t, b, 1)
			if b.Held() != 0 {
				t.Errorf("b.Held() = %d, want 0", b.Held())
			}

			// Once the listener is gone, the port is free for the taking.
			l.Close()
			if got := reserve(t, b, 1); got[0] != busy {
				t.Errorf("after the listener closed, Reserve(1) = %v, want [%d]", got, busy)
			}
		})
	}
}

func TestReserveMoreThanRangeHoldsNothing(t *testing.T) {
	r := freeWindow(t, 5)
	a := NewWithRange(r)
	defer a.ReleaseAll()

	_, err := a.Reserve(6)
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("Reserve(6) of 5: err = %v, want one wrapping ErrExhausted", err)
	}
	b := expectReleasedAll(t, a, r, "failed Reserve(6)")
	b.ReleaseAll()

	// A failed Reserve gives back only what it took itself: ports held from
	// an earlier Reserve stay held.
	first := reserve(t, a, 2)
	expectExhausted(t, a, 4)
	if a.Held() != 2 {
		t.Errorf("after failed Reserve(4) with 2 held, Held() = %d, want 2", a.Held())
	}
	for _, p := range reserve(t, b, 3) {
		if slices.Contains(first, p) {
			t.Errorf("b got port %d, which a still holds", p)
		}
	}
}

func TestReleaseAll(t *testing.T) {
	r := freeWindow(t, 6)
	a := NewWithRange(r)
	defer a.ReleaseAll()
	reserve(t, a, 4)
	reserve(t, a, 2)
	if a.Held() != 6 {
		t.Fatalf("Held() = %d, want 6", a.Held())
	}
	a.ReleaseAll()
	b := expectReleasedAll(t, a, r, "ReleaseAll")
	// And the allocator that released them can reserve again once b lets go.
	b.ReleaseAll()
	reserve(t, a, 6)
}

func TestIsAddrInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = net.Listen("tcp", l.Addr().String())
	if err == nil {
		t.Fatal("second listen on the same address succeeded")
	}
	if !IsAddrInUse(err) {
		t.Errorf("IsAddrInUse(%v) = false, want true", err)
	}
	if IsAddrInUse(fmt.Errorf("start member: %w", err)) != true {
		t.Errorf("IsAddrInUse of a wrapped bind error = false, want true")
	}
	if IsAddrInUse(errors.New("address already in use")) {
		t.Error("IsAddrInUse of a plain error with the same text = true, want false")
	}
	if IsAddrInUse(nil) {
		t.Error("IsAddrInUse(nil) = true")
	}
}

// The lock is machine-wide: a port held by another process is not handed
// out, and a process that dies (without releasing anything) leaves its ports
// free. The other process is this test binary, run as helperProcess.
func TestOtherProcessHoldsPortsUntilItDies(t *testing.T) {
	r := freeWindow(t, 4)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "ETCD_DRILL_PORTS_HELPER="+strconv.Itoa(r.Low)+"-"+strconv.Itoa(r.High))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	// The helper lives until it is killed or its stdin closes (so it does
	// not outlive a test binary that dies first).
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Should the test end before it kills the helper, do not leave it
	// behind (killing and reaping a reaped helper again does no harm).
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	// The helper prints the ports it holds, then waits to be killed.
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading helper's ports: %v", err)
	}
	var theirs []int
	for f := range strings.FieldsSeq(strings.TrimPrefix(strings.TrimSpace(line), "held:")) {
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("helper said %q", line)
		}
		theirs = append(theirs, p)
	}
	if len(theirs) != 3 {
		t.Fatalf("helper holds %v, want 3 ports", theirs)
	}

	a := NewWithRange(r)
	defer a.ReleaseAll()
	mine := reserve(t, a, 1)
	if slices.Contains(theirs, mine[0]) {
		t.Errorf("got port %d, which the other process holds (%v)", mine[0], theirs)
	}
	expectExhausted(t, a, 1)

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	got := reserve(t, a, 3)
	slices.Sort(got)
	slices.Sort(theirs)
	if !slices.Equal(got, theirs) {
		t.Errorf("after the other process died, got %v, want its ports %v", got, theirs)
	}
}

// TestHelperProcess is not a test: TestOtherProcessHoldsPortsUntilItDies
// runs it in a child process to hold ports.
func TestHelperProcess(t *testing.T) {
	spec := os.Getenv("ETCD_DRILL_PORTS_HELPER")
	if spec == "" {
		t.Skip("helper process for TestOtherProcessHoldsPortsUntilItDies")
	}
	lo, hi, _ := strings.Cut(spec, "-")
	low, err1 := strconv.Atoi(lo)
	high, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad range %q", spec)
	}
	a := NewWithRange(Range{Low: low, High: high})
	got, err := a.Reserve(3)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Print("held:")
	for _, p := range got {
		fmt.Print(" ", p)
	}
	fmt.Println()
	io.Copy(io.Discard, os.Stdin) // until killed, or the parent goes away
	os.Exit(0)
}

func TestRangeOutsideEphemeral(t *testing.T) {
	cases := []struct {
		lo, hi int
		want   Range
	}{
		{32768, 60999, Range{20000, 32000}}, // Linux default: below it
		{25000, 60999, Range{20000, 24999}}, // cut below the ephemeral range
		{1024, 60000, Range{60001, 65535}},  // wide ephemeral range: above it
		{1024, 65000, Range{20000, 32000}},  // nothing outside is wide enough
	}
	for _, c := range cases {
		if got := rangeOutside(c.lo, c.hi); got != c.want {
			t.Errorf("ephemeral %d-%d: got %+v, want %+v", c.lo, c.hi, got, c.want)
		}
	}
}
