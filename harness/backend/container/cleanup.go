package container

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"syscall"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Removed counts what Cleanup removed, and what it left to live harnesses.
type Removed struct{ Containers, Networks, Volumes, InUse int }

// abandoned says whether what carries labels was left by a harness that is
// gone: its process no longer runs (or it carries no process id).
func abandoned(labels map[string]string) bool {
	pid, err := strconv.Atoi(labels[LabelPID])
	if err != nil || pid <= 0 {
		return true
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

// sweep removes one thing carrying labels with remove, and counts it in
// *removed; with no run named, one a live harness still uses is left
// alone and counted in r.InUse. A thing already gone is no error.
func (r *Removed) sweep(run string, labels map[string]string, removed *int, remove func() error) error {
	if run == "" && !abandoned(labels) {
		r.InUse++
		return nil
	}
	if err := remove(); err != nil && !isNotFound(err) {
		return err
	}
	*removed++
	return nil
}

// Cleanup removes the containers, networks and volumes labelled by etcd-drill
// whose harness is gone: what a run killed outright (kill -9, a lost CI
// runner) left behind. What a running drill uses is left alone. With run
// set, only that run's, whether its harness runs or not.
func Cleanup(ctx context.Context, run string) (Removed, error) {
	DisableReaper()
	var r Removed
	p, err := testcontainers.NewDockerProvider(quiet())
	if err != nil {
		return r, fmt.Errorf("docker: %w", err)
	}
	defer p.Close()
	cli := p.Client()
	f := make(client.Filters).Add("label", LabelDrill+"=true")
	if run != "" {
		f = f.Add("label", LabelRun+"="+run)
	}
	var errs []error
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return r, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		if err := r.sweep(run, c.Labels, &r.Containers, func() error {
			_, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			return err
		}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
		}
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if err := r.sweep(run, n.Labels, &r.Networks, func() error {
			_, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
			return err
		}); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("list volumes: %w", err))...)
	}
	for _, v := range vs.Items {
		if err := r.sweep(run, v.Labels, &r.Volumes, func() error {
			_, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
			return err
		}); err != nil {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
		}
	}
	return r, errors.Join(errs...)
}

// Leftovers counts the containers and networks labelled with run that are
// still there.
func Leftovers(ctx context.Context, run string) (int, error) {
	DisableReaper()
	p, err := testcontainers.NewDockerProvider(quiet())
	if err != nil {
		return 0, fmt.Errorf("docker: %w", err)
	}
	defer p.Close()
	f := make(client.Filters).Add("label", LabelRun+"="+run)
	cs, err := p.Client().ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	ns, err := p.Client().NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return 0, fmt.Errorf("list networks: %w", err)
	}
	return len(cs.Items) + len(ns.Items), nil
}
