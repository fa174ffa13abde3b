//go:build noctx

package main

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// listPods for client-go before v0.18, whose typed clients take no context (tag noctx).
func listPods(cs kubernetes.Interface, ns string) error {
	_, err := cs.CoreV1().Pods(ns).List(metav1.ListOptions{Limit: 1})
	return err
}

// createPod creates a pod (--operand-image), for client-go before v0.18.
func createPod(cs kubernetes.Interface, pod *corev1.Pod) error {
	_, err := cs.CoreV1().Pods(pod.Namespace).Create(pod)
	return err
}
