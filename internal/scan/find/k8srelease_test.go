package find

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientGoK8sRelease(t *testing.T) {
	for v, want := range map[string]string{
		"v0.16.15": "1.16", "v0.37.2": "1.37", "v12.0.0": "1.15", "v8.0.0+incompatible": "1.11",
		"v0.18.0-beta.1": "1.18", "v0.16.16-0.20201010101010-abcdefabcdef": "1.16",
		"v0.0.0-20190918160344-1fbdaa4c8d90": "", // a date says no release
		"v1.2.3":                             "", "nope": "",
	} {
		require.Equal(t, want, ClientGoK8sRelease(v), v)
	}
}
