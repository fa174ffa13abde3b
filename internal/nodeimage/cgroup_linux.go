package nodeimage

import "syscall"

// cgroup2SuperMagic is the statfs f_type of a cgroup v2 (unified) mount.
const cgroup2SuperMagic = 0x63677270

// HostCgroupV2 reports whether /sys/fs/cgroup is the unified cgroup v2 hierarchy. A
// hybrid or legacy host mounts a tmpfs there with v1 controllers below it, and kind's
// node containers (and so their kubelets) then see cgroup v1.
func HostCgroupV2() (bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &st); err != nil {
		return false, err
	}
	return int64(st.Type) == cgroup2SuperMagic, nil
}
