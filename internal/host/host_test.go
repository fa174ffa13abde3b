package host

import (
	"os"
	osexec "os/exec"
	"strconv"
	"strings"
	"syscall"
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

// TestInheritedDescriptorsAreNotPassedOn: a descriptor inherited without close-on-exec
// (like flock's lock file) does not reach a process we start.
func TestInheritedDescriptorsAreNotPassedOn(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "lock")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0); errno != 0 {
		t.Fatal(errno) // as inherited: no close-on-exec
	}
	closeInheritedOnExec()
	out, err := osexec.Command("ls", "/proc/self/fd").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Fields(string(out)) {
		if name == strconv.Itoa(fd) {
			t.Fatalf("descriptor %d reached the child", fd)
		}
	}
}
