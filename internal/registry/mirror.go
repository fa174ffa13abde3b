package registry

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// HostsDir is where containerd reads a registry host's settings (hosts.toml), when its CRI
// registry config_path points there (satoken's cluster template sets it).
const HostsDir = "/etc/containerd/certs.d"

// Mirror serves local images to a cluster's nodes under their own names, whatever the
// pods' imagePullPolicy: each image is pushed to an in-process registry standing in for its
// upstream registry (one per upstream host, so repositories never collide), and the nodes'
// containerd is told to try that registry first for the host, then the upstream one. A
// manifest's `k8s.gcr.io/metrics-server-amd64:v0.3.4` with `imagePullPolicy: Always` thus
// runs the locally built image, and other images of that host still pull upstream.
type Mirror struct {
	ip      string // an address of this machine the nodes reach (the kind network's gateway)
	mu      sync.Mutex
	servers map[string]*http.Server // by upstream host, as containerd names it
	addrs   map[string]string       // upstream host → the mirror's host:port
}

// NewMirror makes a mirror whose registries listen on ip.
func NewMirror(ip string) *Mirror {
	return &Mirror{ip: ip, servers: map[string]*http.Server{}, addrs: map[string]string{}}
}

// HostsFile is one hosts.toml a node needs: Path under HostsDir, and its content.
type HostsFile struct{ Path, Content string }

// Push serves images (by local name) and returns the hosts.toml files the nodes need.
func (m *Mirror) Push(ctx context.Context, images map[string]v1.Image) ([]HostsFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	locals := make([]string, 0, len(images))
	for local := range images {
		locals = append(locals, local)
	}
	sort.Strings(locals)
	files := map[string]HostsFile{}
	for _, local := range locals {
		ref, err := name.ParseReference(local)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", local, err)
		}
		host := containerdHost(ref.Context().RegistryStr())
		addr, err := m.serve(host)
		if err != nil {
			return nil, err
		}
		dst, err := name.ParseReference(addr+"/"+ref.Context().RepositoryStr()+refSuffix(ref), name.Insecure)
		if err != nil {
			return nil, err
		}
		if err := remote.Write(dst, images[local], remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("serve %s to the nodes: %w", local, err)
		}
		files[host] = HostsFile{Path: HostsDir + "/" + host + "/hosts.toml", Content: hostsTOML(host, addr)}
	}
	out := make([]HostsFile, 0, len(files))
	for _, f := range files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// serve starts (once) the registry standing in for upstream host.
func (m *Mirror) serve(host string) (string, error) {
	if addr, ok := m.addrs[host]; ok {
		return addr, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(m.ip, "0"))
	if err != nil {
		return "", fmt.Errorf("image mirror for %s: %w", host, err)
	}
	srv := &http.Server{Handler: ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	m.servers[host], m.addrs[host] = srv, l.Addr().String()
	return m.addrs[host], nil
}

// Close stops the registries; pods that pull afterwards get their images upstream, or not.
func (m *Mirror) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for host, srv := range m.servers {
		_ = srv.Close()
		delete(m.servers, host)
		delete(m.addrs, host)
	}
}

// containerdHost is the directory name containerd looks a registry up by: Docker Hub is
// "docker.io" there, whatever go-containerregistry calls it.
func containerdHost(registryHost string) string {
	if registryHost == name.DefaultRegistry {
		return "docker.io"
	}
	return registryHost
}

// upstream is the registry a host's pulls go to when the mirror lacks an image.
func upstream(host string) string {
	if host == "docker.io" {
		return "https://registry-1.docker.io"
	}
	return "https://" + host
}

// hostsTOML tries the mirror (plain HTTP on a private address) first, then upstream.
func hostsTOML(host, mirror string) string {
	return fmt.Sprintf("# satoken: local images first, then the registry itself\nserver = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", upstream(host), "http://"+mirror)
}

// refSuffix is ":tag" or "@digest" of ref.
func refSuffix(ref name.Reference) string {
	if d, ok := ref.(name.Digest); ok {
		return "@" + d.DigestStr()
	}
	return ":" + ref.Identifier()
}
