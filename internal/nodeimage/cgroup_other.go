//go:build !linux

package nodeimage

import "errors"

// HostCgroupV2 only means something on Linux, where kind's nodes run.
func HostCgroupV2() (bool, error) { return false, errors.New("cgroups are Linux-only") }
