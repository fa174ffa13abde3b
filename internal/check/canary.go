package check

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/waits"
)

// The canary proves that the audit log shows the 401s of a workload pod's position: run
// from the same namespace (and the same node's network when the workload is hostNetwork),
// it sends canaryRequests requests with a bad token and a user agent of its own, and each
// must be in the audit log, from the canary's address with that user agent. Where the
// proof fails — SNAT or an egress proxy hiding the pod's IP, an HA control plane whose
// other apiservers' logs were not given, an audit policy that drops 401s — "no 401 seen" is
// not evidence, and no pod there passes on it.
const (
	canaryRequests  = 5
	canaryLabel     = "satoken.io/canary"
	canaryUserAgent = "satoken-canary/" // + the canary's id (apps/canary)
	canaryTimeout   = 2 * time.Minute
)

// position is where a workload pod's requests come from, as the apiserver sees them.
type position struct {
	namespace   string
	hostNetwork bool
	node        string // for hostNetwork pods: the node whose address they share
}

func positionOf(p corev1.Pod) position {
	pos := position{namespace: p.Namespace, hostNetwork: p.Spec.HostNetwork}
	if pos.hostNetwork {
		pos.node = p.Spec.NodeName
	}
	return pos
}

func (pos position) String() string {
	if pos.hostNetwork {
		return fmt.Sprintf("namespace %s, hostNetwork on node %s", pos.namespace, pos.node)
	}
	return "namespace " + pos.namespace + ", pod network"
}

// runCanaries runs one canary per position of the workload's running pods and waits for
// each to finish.
func (j *job) runCanaries(ctx context.Context, kc *kube.Client) error {
	positions := map[position]bool{}
	for _, p := range j.pods {
		if p.ran() && p.ended().IsZero() {
			positions[positionOf(p.pod)] = true
		}
	}
	var sorted []position
	for pos := range positions {
		sorted = append(sorted, pos)
	}
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].String() < sorted[b].String() })
	for _, pos := range sorted {
		c, err := runCanary(ctx, kc, pos, j.canaryImage(), j.in.canaryPullPolicy())
		if err != nil {
			return fmt.Errorf("canary in %s: %w", pos, err)
		}
		j.canaries = append(j.canaries, c)
	}
	return nil
}

func runCanary(ctx context.Context, kc *kube.Client, pos position, image string, pull corev1.PullPolicy) (*report.Canary, error) {
	c := &report.Canary{Namespace: pos.namespace, HostNetwork: pos.hostNetwork, Node: pos.node, ID: rand.String(8), Sent: canaryRequests}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "satoken-canary-", Namespace: pos.namespace,
			Labels: map[string]string{kube.PartOfKey: kube.PartOfValue, canaryLabel: c.ID}},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr.To(false), // it must hold no token
			HostNetwork:                  pos.hostNetwork,
			NodeName:                     pos.node,
			Tolerations:                  []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65534),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "canary", Image: image, ImagePullPolicy: pull,
				Args: []string{"--id", c.ID, "--requests", fmt.Sprint(canaryRequests), "--ca", "/etc/satoken-canary/ca.crt"},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "ca", MountPath: "/etc/satoken-canary", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{Name: "ca", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}}}},
		},
	}
	created, err := kc.Typed.CoreV1().Pods(pos.namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = kc.Typed.CoreV1().Pods(pos.namespace).Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{})
	}()
	var last *corev1.Pod
	err = waits.Until(ctx, waits.Input{What: "the canary pod to finish", Every: time.Second, Timeout: canaryTimeout},
		func(ctx context.Context) (bool, string, error) {
			p, err := kc.Typed.CoreV1().Pods(pos.namespace).Get(ctx, created.Name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			last = p
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, kube.PodProblem(p), nil
		})
	if err != nil {
		return nil, err
	}
	if last.Status.Phase != corev1.PodSucceeded {
		return nil, fmt.Errorf("failed: %s", kube.PodProblem(last))
	}
	c.IP = last.Status.PodIP
	if c.IP == "" {
		c.IP = last.Status.HostIP
	}
	if last.Status.StartTime != nil {
		c.Start = last.Status.StartTime.Time
	}
	c.End = time.Now()
	for _, cs := range last.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			c.End = t.FinishedAt.Time
		}
	}
	return c, nil
}

// verifyCanary reads what the audit log shows of the canary: every request it sent,
// refused, from its address, with its user agent.
func verifyCanary(c *report.Canary, events []audit.Event) {
	seen := map[string]bool{}
	ips := map[string]bool{}
	c.Found, c.SourceIPs = 0, nil
	for _, e := range events {
		if e.UserAgent != canaryUserAgent+c.ID || e.Code() == 0 || seen[e.AuditID] {
			continue
		}
		seen[e.AuditID] = true
		ips[e.SourceIP()] = true
		if e.Code() == 401 && e.SourceIP() == c.IP {
			c.Found++
		}
	}
	for ip := range ips {
		c.SourceIPs = append(c.SourceIPs, ip)
	}
	sort.Strings(c.SourceIPs)
	switch {
	case len(seen) == 0:
		c.Problem = fmt.Sprintf("none of its %d requests is in the audit log (another apiserver's log, or a policy that drops failed authentication?)", c.Sent)
	case c.Found < c.Sent:
		c.Problem = fmt.Sprintf("%d of its %d requests are in the audit log as 401s from its address %s (source IPs seen: %s: SNAT, a proxy, or other apiservers' logs missing)",
			c.Found, c.Sent, c.IP, strings.Join(c.SourceIPs, ", "))
	default:
		c.Problem = ""
	}
}

// proof is the canary of a pod's position, and what it proved; a pod whose position had no
// canary has none.
func (j *job) proof(p corev1.Pod) (*report.Canary, string) {
	pos := positionOf(p)
	for _, c := range j.canaries {
		if c.Namespace == pos.namespace && c.HostNetwork == pos.hostNetwork && c.Node == pos.node {
			return c, c.Problem
		}
	}
	if j.in.Canary == "" {
		return nil, "no canary could run (no way to ship its image to this cluster: give --load kind:NAME or --registry)"
	}
	return nil, "no canary ran from its position (" + pos.String() + ")"
}

// canaryImage is the reference the canary's pods run: as shipped (a registry pins it by
// digest), else its local name.
func (j *job) canaryImage() string {
	if ref := j.shipped[j.in.Canary]; ref != "" {
		return ref
	}
	return j.in.Canary
}

// canaryPullPolicy: the canary's image was shipped like the workload's local images.
func (in Input) canaryPullPolicy() corev1.PullPolicy {
	if in.Target.Mirror != nil {
		return in.Target.Mirror.PullPolicy()
	}
	if in.Target.Images != nil {
		return in.Target.Images.PullPolicy()
	}
	return corev1.PullIfNotPresent
}
