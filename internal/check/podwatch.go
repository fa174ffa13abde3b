package check

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
)

// podLog remembers every pod of the cluster seen while the check runs, in any namespace:
// an operator's operand pods, StatefulSet replicas created one after another and pods
// that came and went between two looks are all in it, with their last known state.
type podLog struct {
	mu   sync.Mutex
	pods map[types.UID]*seenPod
	stop context.CancelFunc
}

// seenPod is a pod as last seen, and when it was seen deleted (zero while it exists).
type seenPod struct {
	Pod     corev1.Pod
	Deleted time.Time
}

// watchPods starts recording pods; it returns once the first list is in.
func watchPods(ctx context.Context, kc *kube.Client) (*podLog, error) {
	ctx, stop := context.WithCancel(ctx)
	l := &podLog{pods: map[types.UID]*seenPod{}, stop: stop}
	informer := informers.NewSharedInformerFactory(kc.Typed, 0).Core().V1().Pods().Informer()
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { l.saw(obj, false) },
		UpdateFunc: func(_, obj any) { l.saw(obj, false) },
		DeleteFunc: func(obj any) { l.saw(obj, true) },
	})
	if err != nil {
		stop()
		return nil, err
	}
	go informer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		stop()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("pod watch: the first list did not complete")
	}
	return l, nil
}

func (l *podLog) saw(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.pods[pod.UID]
	if s == nil {
		s = &seenPod{}
		l.pods[pod.UID] = s
	}
	s.Pod = *pod.DeepCopy()
	if deleted && s.Deleted.IsZero() {
		s.Deleted = time.Now()
	}
}

// snapshot is every pod seen so far, in namespace/name order.
func (l *podLog) snapshot() []seenPod {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]seenPod, 0, len(l.pods))
	for _, s := range l.pods {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Pod, out[j].Pod
		if a.Namespace+"/"+a.Name != b.Namespace+"/"+b.Name {
			return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
	return out
}

// close stops the watch.
func (l *podLog) close() {
	if l != nil {
		l.stop()
	}
}
