//go:build !noctx

package main

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// listPods for client-go v0.18 and later (the default), whose typed clients take a context.
// rest.Config.Timeout bounds the call.
func listPods(cs kubernetes.Interface, ns string) error {
	_, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{Limit: 1})
	return err
}

// createPod creates a pod (--operand-image), for client-go v0.18 and later.
func createPod(cs kubernetes.Interface, pod *corev1.Pod) error {
	_, err := cs.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	return err
}
