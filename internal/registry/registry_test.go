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
