package host

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCapMissingFromStatus(t *testing.T) {
	sandbox := "Name:\tx\nCapBnd:\t000001fffeffffff\n"
	missing, err := capMissingFromStatus(sandbox, capSysResource)
	require.NoError(t, err)
	require.True(t, missing, "bit 24 is clear in 000001fffeffffff")

	full := "CapBnd:\t000001ffffffffff\n"
	missing, err = capMissingFromStatus(full, capSysResource)
	require.NoError(t, err)
	require.False(t, missing)

	_, err = capMissingFromStatus("Name:\tx\n", capSysResource)
	require.Error(t, err)
	_, err = capMissingFromStatus("CapBnd:\tzz\n", capSysResource)
	require.Error(t, err)
}
