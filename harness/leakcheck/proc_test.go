package leakcheck

import (
	"slices"
	"testing"
)

func TestNewGoroutines(t *testing.T) {
	base := map[uint64]string{
		1: "main.main [running]",
		2: "created by net/http.(*Transport).dialConn [select]",
		3: "created by pkg.watch [chan receive, 2 minutes]",
	}
	for _, tc := range []struct {
		name string
		now  map[uint64]string
		want []string
	}{
		{"nothing changed", base, nil},
		{"the baseline's waits grew older", map[uint64]string{
			1: "main.main [running]",
			2: "created by net/http.(*Transport).dialConn [select, 1 minutes]",
			3: "created by pkg.watch [chan receive, 3 minutes]",
		}, nil},
		{"one new", map[uint64]string{
			1: "main.main [running]", 2: base[2], 3: base[3],
			9: "created by pkg.leak [chan receive]",
		}, []string{"created by pkg.leak [chan receive]"}},
		{"an unrelated one ended does not hide a new one", map[uint64]string{
			1: "main.main [running]", 2: base[2],
			9: "created by pkg.leak [chan receive]",
		}, []string{"created by pkg.leak [chan receive]"}},
		{"a connection's goroutine replaced by the next one's", map[uint64]string{
			1: "main.main [running]", 3: base[3],
			7: "created by net/http.(*Transport).dialConn [IO wait]",
		}, nil},
		{"two of a kind for one that ended", map[uint64]string{
			1: "main.main [running]", 3: base[3],
			7: "created by net/http.(*Transport).dialConn [IO wait]",
			8: "created by net/http.(*Transport).dialConn [select]",
		}, []string{"created by net/http.(*Transport).dialConn [select]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewGoroutines(base, tc.now); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
