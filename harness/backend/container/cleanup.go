package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Removed counts what Cleanup removed.
type Removed struct{ Containers, Networks, Volumes int }

// Cleanup removes every container, network and volume labelled by etcd-drill:
// what a run that was killed outright (kill -9, a lost CI runner) left
// behind. With run set, only that run's.
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
		if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			continue
		}
		r.Volumes++
	}
	return r, errors.Join(errs...)
}
