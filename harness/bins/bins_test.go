package bins

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBins writes etcd, etcdctl and etcdutl into dir, the etcd one saying
// it is version.
func fakeBins(t *testing.T, dir, version string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		script := "#!/bin/sh\necho 'etcd Version: " + version + "'\n"
		if err := os.WriteFile(filepath.Join(dir, n), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bin")
	fakeBins(t, bin, "3.7.3")
	fakeBins(t, filepath.Join(bin, "etcd-v3.6.9"), "3.6.9")
	fakeBins(t, filepath.Join(bin, "etcd-v3.6.17"), "3.6.17")
	fakeBins(t, filepath.Join(bin, "etcd-v3.5.36"), "3.5.36")
	if err := os.MkdirAll(filepath.Join(bin, "etcd-v3.4.1"), 0o755); err != nil { // empty: not built
		t.Fatal(err)
	}
	for _, tc := range []struct {
		version, wantDir, wantErr string
	}{
		{"", bin, ""},
		{"3.7", bin, ""},
		{"3.7.3", bin, ""},
		{"3.6", "etcd-v3.6.17", ""}, // the newest patch: 17 > 9 as numbers
		{"3.6.9", "etcd-v3.6.9", ""},
		{"3.5", "etcd-v3.5.36", ""},
		{"3.4", "", "make bins-all VERSIONS=3.4"},
		{"3.1", "", "make bins-all VERSIONS=3.1"}, // not 3.1x
		{"3.6.1", "", "make bins-all VERSIONS=3.6"},
		{"v3.6", "", "want X.Y or X.Y.Z"},
		{"3", "", "want X.Y or X.Y.Z"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			b, err := FindVersion(bin, tc.version)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FindVersion(%q) = %s, %v; want an error with %q", tc.version, b.Dir, err, tc.wantErr)
				}
				if strings.Contains(tc.wantErr, "make") && !errors.Is(err, ErrNotFound) {
					t.Fatalf("error %v is not ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.wantDir; want != bin && b.Dir != filepath.Join(bin, want) || want == bin && b.Dir != bin {
				t.Fatalf("FindVersion(%q) found %s, want %s", tc.version, b.Dir, want)
			}
			v, err := b.Version()
			if err != nil || (tc.version != "" && !SameLine(v, tc.version)) {
				t.Fatalf("found binaries of %s (%v), want %s", v, err, tc.version)
			}
		})
	}
}

func TestNewer(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"3.6.17", "3.6.9", true}, {"3.6.9", "3.6.17", false}, {"3.10.0", "3.9.9", true}, {"3.6.1", "3.6.1", false}} {
		if got := newer(tc.a, tc.b); got != tc.want {
			t.Errorf("newer(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
