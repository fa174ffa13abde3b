package registry

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, bad := range []string{"", "localhost:5000", "Upper/Case", "host/with space"} {
		_, err := Parse(bad)
		require.Error(t, err, bad)
	}
	r, err := Parse("localhost:5000/satoken/")
	require.NoError(t, err)
	require.Equal(t, "localhost:5000/satoken", r.Path)
}

// TestShipPushesPinnedByDigest pushes to a registry served in-process and pulls back what
// the returned reference names.
func TestShipPushesPinnedByDigest(t *testing.T) {
	srv := httptest.NewServer(ggcr.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r, err := Parse(host + "/satoken")
	require.NoError(t, err)
	img, err := random.Image(1024, 1)
	require.NoError(t, err)

	refs, err := r.Ship(context.Background(), map[string]v1.Image{"satoken/probe:v8.0.0": img})
	require.NoError(t, err)
	digest, err := img.Digest()
	require.NoError(t, err)
	require.Equal(t, host+"/satoken/probe:v8.0.0@"+digest.String(), refs["satoken/probe:v8.0.0"])

	ref, err := name.ParseReference(refs["satoken/probe:v8.0.0"])
	require.NoError(t, err)
	got, err := remote.Image(ref)
	require.NoError(t, err)
	gotDigest, err := got.Digest()
	require.NoError(t, err)
	require.Equal(t, digest, gotDigest)
}

// TestMirrorServesUnderTheirOwnNames: each upstream host gets a registry of its own that
// serves the image under its repository and tag, and a hosts.toml that tries it first.
func TestMirrorServesUnderTheirOwnNames(t *testing.T) {
	m := NewMirror("127.0.0.1")
	defer m.Close()
	a, err := random.Image(512, 1)
	require.NoError(t, err)
	b, err := random.Image(512, 1)
	require.NoError(t, err)
	files, err := m.Push(context.Background(), map[string]v1.Image{
		"k8s.gcr.io/metrics-server-amd64:v0.3.4": a,
		"my-addon:dev":                           b, // Docker Hub, as containerd names it
	})
	require.NoError(t, err)
	require.Len(t, files, 2)
	require.Equal(t, HostsDir+"/docker.io/hosts.toml", files[0].Path)
	require.Contains(t, files[0].Content, `server = "https://registry-1.docker.io"`)
	require.Equal(t, HostsDir+"/k8s.gcr.io/hosts.toml", files[1].Path)
	require.Contains(t, files[1].Content, `server = "https://k8s.gcr.io"`)

	for _, c := range []struct {
		host, repo string
		img        v1.Image
	}{{"k8s.gcr.io", "metrics-server-amd64:v0.3.4", a}, {"docker.io", "library/my-addon:dev", b}} {
		addr := m.addrs[c.host]
		require.Contains(t, files[0].Content+files[1].Content, `[host."http://`+addr+`"]`)
		ref, err := name.ParseReference(addr + "/" + c.repo)
		require.NoError(t, err)
		got, err := remote.Image(ref)
		require.NoError(t, err)
		want, _ := c.img.Digest()
		have, _ := got.Digest()
		require.Equal(t, want, have, c.repo)
	}
	require.NotEqual(t, m.addrs["k8s.gcr.io"], m.addrs["docker.io"], "one registry per upstream host")
}
