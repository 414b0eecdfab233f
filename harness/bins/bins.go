// Package bins finds the real etcd, etcdctl and etcdutl binaries that the
// process backend and operators' runbooks run. `make bins` builds the pinned
// version into bin/ from the Go module proxy.
package bins

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// EnvDir names a directory holding etcd, etcdctl and etcdutl; it wins over
// the search but not over an explicit directory.
const EnvDir = "ETCD_DRILL_BIN_DIR"

// Binaries are the paths of one etcd version's tools.
type Binaries struct {
	Dir     string
	Etcd    string
	Etcdctl string
	Etcdutl string
}

// Names are the file names looked for.
var names = [...]string{"etcd", "etcdctl", "etcdutl"}

// ErrNotFound says the binaries are missing and how to build them.
var ErrNotFound = errors.New("etcd binaries not found: build them with `make bins` (into bin/), or name a directory holding etcd, etcdctl and etcdutl with --bin-dir or " + EnvDir)

// Find looks for the binaries: in dir if it is set; else in $ETCD_DRILL_BIN_DIR;
// else in bin/ of the working directory or of any directory above it (the
// repository's bin/ from anywhere inside it); else on PATH.
func Find(dir string) (Binaries, error) {
	if dir != "" {
		b, err := in(dir)
		if err != nil {
			return Binaries{}, fmt.Errorf("--bin-dir %s: %w", dir, err)
		}
		return b, nil
	}
	if env := os.Getenv(EnvDir); env != "" {
		b, err := in(env)
		if err != nil {
			return Binaries{}, fmt.Errorf("%s=%s: %w", EnvDir, env, err)
		}
		return b, nil
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if b, err := in(filepath.Join(d, "bin")); err == nil {
				return b, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	var b Binaries
	for i, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			return Binaries{}, ErrNotFound
		}
		b.set(i, p)
	}
	b.Dir = filepath.Dir(b.Etcd)
	return b, nil
}

func (b *Binaries) set(i int, p string) {
	switch i {
	case 0:
		b.Etcd = p
	case 1:
		b.Etcdctl = p
	case 2:
		b.Etcdutl = p
	}
}

// in finds all three binaries in dir, executable.
func in(dir string) (Binaries, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{Dir: abs}
	for i, n := range names {
		p := filepath.Join(abs, n)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return Binaries{}, fmt.Errorf("no executable %s in %s: %w", n, abs, ErrNotFound)
		}
		b.set(i, p)
	}
	return b, nil
}

var versionRE = regexp.MustCompile(`etcd Version: (\S+)`)

// Version asks the etcd binary for its version.
func (b Binaries) Version() (string, error) {
	out, err := exec.Command(b.Etcd, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", b.Etcd, err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return "", fmt.Errorf("%s --version: no version in %q", b.Etcd, strings.TrimSpace(string(out)))
	}
	return m[1], nil
}

// VersionDirPrefix starts the name of a directory of bin/ holding one etcd
// version's binaries: bin/etcd-v3.6.17/ (`make bins-all`).
const VersionDirPrefix = "etcd-v"

// FindVersion finds the binaries of etcd version, X.Y (the newest patch
// built of that line) or X.Y.Z: in the directory Find finds (if they are
// that version), else in its etcd-vX.Y.Z siblings. An empty version is
// Find's answer.
func FindVersion(dir, version string) (Binaries, error) {
	b, err := Find(dir)
	if version == "" {
		return b, err
	}
	if err := ValidVersion(version); err != nil {
		return Binaries{}, err
	}
	if err != nil {
		return Binaries{}, err
	}
	if v, err := b.Version(); err == nil && SameLine(v, version) {
		return b, nil
	}
	root := b.Dir
	if strings.HasPrefix(filepath.Base(root), VersionDirPrefix) {
		root = filepath.Dir(root)
	}
	entries, _ := os.ReadDir(root)
	var best Binaries
	bestV := ""
	for _, e := range entries {
		v, ok := strings.CutPrefix(e.Name(), VersionDirPrefix)
		if !ok || !e.IsDir() || !SameLine(v, version) || (bestV != "" && !newer(v, bestV)) {
			continue
		}
		if c, err := in(filepath.Join(root, e.Name())); err == nil {
			best, bestV = c, v
		}
	}
	if bestV == "" {
		return Binaries{}, versionNotFound(fmt.Sprintf("etcd %s binaries not found in %s/%s%s*/: build them with `make bins-all VERSIONS=%s`",
			version, root, VersionDirPrefix, version, MinorLine(version)))
	}
	return best, nil
}

// versionNotFound is ErrNotFound for one version, with its own make target.
type versionNotFound string

func (e versionNotFound) Error() string        { return string(e) }
func (e versionNotFound) Is(target error) bool { return target == ErrNotFound }

var versionArgRE = regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`)

// ValidVersion says whether version is one FindVersion takes: X.Y or X.Y.Z.
func ValidVersion(version string) error {
	if !versionArgRE.MatchString(version) {
		return fmt.Errorf("etcd version %q: want X.Y or X.Y.Z", version)
	}
	return nil
}

// SameLine says whether version v (X.Y.Z, maybe with a suffix) is want
// (X.Y.Z) or of its line (X.Y).
func SameLine(v, want string) bool {
	return v == want || strings.HasPrefix(v, want+".")
}

// Older says whether the line of version a (X.Y[.Z]) is older than b's.
func Older(a, b string) bool {
	la, lb := MinorLine(a), MinorLine(b)
	return la != lb && newer(lb, la)
}

// MinorLine is X.Y of a version X.Y[.Z].
func MinorLine(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// newer compares two X.Y.Z versions numerically.
func newer(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea != nil || eb != nil || na == nb {
			if pa[i] != pb[i] {
				return pa[i] > pb[i]
			}
			continue
		}
		return na > nb
	}
	return len(pa) > len(pb)
}
