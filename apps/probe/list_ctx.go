//go:build !noctx

package main

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// listPods for client-go v0.18 and later (the default), whose typed clients take a context.
// rest.Config.Timeout bounds the call.
func listPods(cs kubernetes.Interface, ns string) error {
	_, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{Limit: 1})
	return err
}
