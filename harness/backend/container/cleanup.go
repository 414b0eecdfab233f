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
		if run == "" && !abandoned(c.Labels) {
			r.InUse++
			continue
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
			continue
		}
		r.Containers++
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if run == "" && !abandoned(n.Labels) {
			r.InUse++
			continue
		}
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		r.Networks++
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("list volumes: %w", err))...)
	}
	for _, v := range vs.Items {
		if run == "" && !abandoned(v.Labels) {
			r.InUse++
			continue
		}
		if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			continue
		}
		r.Volumes++
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
