//go:build klog

package main

import "k8s.io/klog"

// klog before v1.0.0 registers its flags (and its logtostderr default) only in
// InitFlags; main then turns logtostderr on like it does for glog.
func init() { klog.InitFlags(nil) }
