package scenarios

import (
	"context"
	"fmt"
	"strings"

	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/backend/container"
	"github.com/etcd-drill/etcd-drill/harness/backend/embedded"
	"github.com/etcd-drill/etcd-drill/harness/backend/process"
	"github.com/etcd-drill/etcd-drill/harness/bins"
)

// backendKind is one backend members can run on: its name, what it can do,
// what it needs of the machine, and how to open it. Every backend is listed
// in kinds, and only there.
type backendKind struct {
	name string
	caps backend.Caps
	// check says what the machine lacks to run it, without creating
	// anything.
	check func(ctx context.Context, o Options) error
	// open returns the backend ready to start members; run names the drill
	// (containers and networks carry it).
	open func(ctx context.Context, o Options, run string) (backend.Backend, error)
}

func kinds() []backendKind {
	return []backendKind{
		{
			name:  "embedded",
			caps:  embedded.New().Caps(),
			check: func(context.Context, Options) error { return nil },
			open: func(context.Context, Options, string) (backend.Backend, error) {
				return embedded.New(), nil
			},
		},
		{
			name:  "process",
			caps:  process.Caps(),
			check: func(_ context.Context, o Options) error { return checkBins(o) },
			open: func(_ context.Context, o Options, _ string) (backend.Backend, error) {
				b, err := bins.FindVersion(o.BinDir, o.EtcdVersion)
				if err != nil {
					return nil, err
				}
				be, err := process.New(b)
				if err != nil {
					return nil, err
				}
				return be.WithVersions(func(v string) (bins.Binaries, error) { return bins.FindVersion(o.BinDir, v) }), nil
			},
		},
		{
			name: "container",
			caps: container.Caps(),
			check: func(ctx context.Context, o Options) error {
				if err := container.Available(ctx); err != nil {
					return err
				}
				if o.Image == "" {
					return checkBins(o) // to build the image
				}
				return nil
			},
			open: func(ctx context.Context, o Options, run string) (backend.Backend, error) {
				image, version, err := containerImage(ctx, o)
				if err != nil {
					return nil, err
				}
				return container.New(ctx, image, version, run)
			},
		},
	}
}

// Backends lists the backends Run knows.
func Backends() []string {
	var out []string
	for _, k := range kinds() {
		out = append(out, k.name)
	}
	return out
}

// kindOf finds the backend called name ("" is the embedded one).
func kindOf(name string) (backendKind, error) {
	if name == "" {
		name = "embedded"
	}
	for _, k := range kinds() {
		if k.name == name {
			return k, nil
		}
	}
	return backendKind{}, fmt.Errorf("unknown backend %q (known: %s)", name, strings.Join(Backends(), ", "))
}

func orEmbedded(name string) string {
	if name == "" {
		return "embedded"
	}
	return name
}

// NewBackend returns the backend o names, ready to start members.
func NewBackend(ctx context.Context, o Options, run string) (backend.Backend, error) {
	k, err := kindOf(o.Backend)
	if err != nil {
		return nil, err
	}
	return k.open(ctx, o, run)
}

// CheckEnvironment reports what the machine lacks to run sc with o: a
// Docker engine, the etcd binaries (for the process backend, the container
// image and runbooks), free space in the work dir. Like Validate, it creates
// nothing.
func CheckEnvironment(ctx context.Context, o Options) error {
	k, err := kindOf(o.Backend)
	if err != nil {
		return err
	}
	if err := k.check(ctx, o); err != nil {
		return err
	}
	if o.Recovery == "runbook" {
		if err := checkBins(o); err != nil {
			return err
		}
	}
	for _, v := range append([]string{o.RestoreVersion}, o.Path...) {
		if v == "" {
			continue
		}
		v2 := o
		v2.EtcdVersion = v
		if err := checkBins(v2); err != nil {
			return err
		}
	}
	return o.checkDisk()
}

// checkBins finds the etcd binaries and asks them their version: binaries
// that are not etcd fail here, not minutes into a drill.
func checkBins(o Options) error {
	b, err := bins.FindVersion(o.BinDir, o.EtcdVersion)
	if err != nil {
		return err
	}
	_, err = b.Version()
	return err
}

// containerImage is --image, or the image built from the pinned binaries.
func containerImage(ctx context.Context, o Options) (image, version string, err error) {
	if o.Image != "" {
		_, tag, _ := strings.Cut(o.Image, ":")
		return o.Image, tag, nil
	}
	b, err := bins.FindVersion(o.BinDir, o.EtcdVersion)
	if err != nil {
		return "", "", err
	}
	if version, err = b.Version(); err != nil {
		return "", "", err
	}
	image, err = container.EnsureImage(ctx, b, version)
	return image, version, err
}
