package container

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/testcontainers/testcontainers-go"

	"github.com/etcd-drill/etcd-drill/harness/bins"
)

// ImageRepo is the repository of the image etcd-drill builds; its tag is
// the etcd version.
const ImageRepo = "etcd-drill/etcd"

// Dockerfile is the image's recipe (tools/image/Dockerfile says the same).
const Dockerfile = `FROM scratch
COPY etcd etcdctl etcdutl /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/etcd"]
`

// ImageName is the tag of the image for etcd version.
func ImageName(version string) string { return ImageRepo + ":" + version }

// EnsureImage builds the etcd image from the binaries b, FROM scratch, unless
// an image of that name is there already, and returns its name. No registry
// is involved.
func EnsureImage(ctx context.Context, b bins.Binaries, version string) (string, error) {
	name := ImageName(version)
	p, err := testcontainers.NewDockerProvider(quiet())
	if err != nil {
		return "", fmt.Errorf("docker: %w", err)
	}
	defer p.Close()
	if _, err := p.Client().ImageInspect(ctx, name); err == nil {
		return name, nil
	}
	archive, err := buildContext(b)
	if err != nil {
		return "", err
	}
	repo, tag, _ := strings.Cut(name, ":")
	req := testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		ContextArchive: bytes.NewReader(archive),
		Dockerfile:     "Dockerfile",
		Repo:           repo,
		Tag:            tag,
		KeepImage:      true,
	}}
	if _, err := p.BuildImage(ctx, &req); err != nil {
		return "", fmt.Errorf("build image %s: %w", name, err)
	}
	return name, nil
}

// buildContext is a tar of the Dockerfile and the three binaries.
func buildContext(b bins.Binaries) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, r io.Reader, size int64) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: size}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	if err := add("Dockerfile", 0o644, strings.NewReader(Dockerfile), int64(len(Dockerfile))); err != nil {
		return nil, err
	}
	for _, p := range []string{b.Etcd, b.Etcdctl, b.Etcdutl} {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("image context: %w", err)
		}
		st, err := f.Stat()
		if err == nil {
			err = add(filepath.Base(p), 0o755, f, st.Size())
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("image context %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
