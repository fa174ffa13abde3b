package main

import (
	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// runWatch holds an informer on the pods of ns, as a controller that only watches does,
// and never returns. The reflector LISTs (or, where client-go streams the initial list,
// WATCHes with sendInitialEvents), WATCHes, re-opens the watch when the apiserver ends it
// (client-go asks for a random 5–10 min timeout) and re-lists after errors with its own
// backoff. Resync period 0: nothing is periodic. The constructors used here have the
// same signatures in every client-go of the matrix.
func runWatch(cs kubernetes.Interface, ns string, emit func(probelog.Line)) {
	lw := cache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "pods", ns, fields.Everything())
	event := func(what string, obj interface{}) {
		key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		emit(probelog.Line{Kind: probelog.KindEvent, Event: what, Object: key})
	}
	//nolint:staticcheck // SA1019: NewInformerWithOptions does not exist in the old client-go versions this probe is built with.
	_, ctl := cache.NewInformer(lw, &corev1.Pod{}, 0, cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { event("add", obj) },
		UpdateFunc: func(_, obj interface{}) { event("update", obj) },
		DeleteFunc: func(obj interface{}) { event("delete", obj) },
	})
	ctl.Run(make(chan struct{}))
}
