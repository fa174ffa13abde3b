package find

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestContainsAllAcrossChunks: a signature split across two reads is still found.
func TestContainsAllAcrossChunks(t *testing.T) {
	sig := "/var/run/secrets/kubernetes.io/serviceaccount"
	for _, at := range []int{0, 64<<10 - 10, 64<<10 + len(sig) - 20, 3 * 64 << 10} {
		data := bytes.Repeat([]byte("x"), at)
		data = append(append(data, sig...), "y"...)
		found, err := containsAll(bytes.NewReader(data), []string{sig, "y"})
		require.NoError(t, err)
		require.True(t, found, at)
	}
	found, err := containsAll(strings.NewReader(sig[:20]+" "+sig[20:]), []string{sig})
	require.NoError(t, err)
	require.False(t, found)
}
