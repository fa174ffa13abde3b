// Package check runs someone else's workload in the short-token cluster and judges from
// evidence that does not depend on the workload's log format: the apiserver's audit log
// (calls and 401s attributed to the workload's pods), container restarts, and log lines
// mentioning "Unauthorized".
package check

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// tokenMountPath is where client libraries look for the in-cluster token.
const tokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// tokenVolume is the projection added in place of the automounted kube-api-access volume.
const tokenVolume = "satoken-kube-api-access"

// podSpecPaths locate the pod spec in each workload kind.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
}

// errNoWorkload rejects manifests that would leave nothing to judge.
var errNoWorkload = errors.New("the manifests contain no workload (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, ...)")

// Validate rejects manifests a check cannot use, before any cluster is created.
func Validate(objs []*unstructured.Unstructured) error {
	workloads, err := eachPodSpec(objs, func(*unstructured.Unstructured, map[string]any) error { return nil })
	if err == nil && workloads == 0 {
		err = errNoWorkload
	}
	return err
}

// eachPodSpec calls fn with the pod spec of every workload object, as the live map inside
// the object (edits go straight into it), and counts the workloads.
func eachPodSpec(objs []*unstructured.Unstructured, fn func(o *unstructured.Unstructured, spec map[string]any) error) (int, error) {
	workloads := 0
	for _, o := range objs {
		path, ok := podSpecPaths[o.GetKind()]
		if !ok {
			continue
		}
		spec := o.Object
		for _, key := range path {
			spec = asMap(spec[key])
		}
		if spec == nil {
			return workloads, fmt.Errorf("%s/%s: no pod spec at %v", o.GetKind(), o.GetName(), path)
		}
		if err := fn(o, spec); err != nil {
			return workloads, fmt.Errorf("%s/%s: %w", o.GetKind(), o.GetName(), err)
		}
		workloads++
	}
	return workloads, nil
}

// ShortenTokens rewrites every pod template so its ServiceAccount token lives ttlSeconds:
// explicit serviceAccountToken projections get that expirationSeconds; pods that rely on
// the automounted token get an equivalent projection of their own instead. It returns a
// line per change, for the report.
//
// It is the fallback for clusters without MutatingAdmissionPolicy (see tokenPolicy), and
// cannot reach pods that controllers create from templates of their own.
func ShortenTokens(objs []*unstructured.Unstructured, ttlSeconds int64) ([]string, error) {
	var changes []string
	_, err := eachPodSpec(objs, func(o *unstructured.Unstructured, spec map[string]any) error {
		change := shortenPodSpec(spec, ttlSeconds)
		changes = append(changes, fmt.Sprintf("%s/%s: %s", o.GetKind(), o.GetName(), change))
		return nil
	})
	return changes, err
}

func shortenPodSpec(spec map[string]any, ttl int64) string {
	volumes := slice(spec, "volumes")
	explicit := 0
	for _, v := range volumes {
		for _, s := range slice(asMap(asMap(v)["projected"]), "sources") {
			if sat, ok := asMap(s)["serviceAccountToken"].(map[string]any); ok {
				sat["expirationSeconds"] = ttl
				explicit++
			}
		}
	}
	if explicit > 0 {
		return fmt.Sprintf("%d projected token(s) set to %ds", explicit, ttl)
	}
	if auto, found, _ := unstructured.NestedBool(spec, "automountServiceAccountToken"); found && !auto {
		return "no ServiceAccount token mounted (automountServiceAccountToken: false): unchanged"
	}
	spec["automountServiceAccountToken"] = false
	volumes = append(volumes, map[string]any{
		"name": tokenVolume,
		"projected": map[string]any{"sources": []any{
			map[string]any{"serviceAccountToken": map[string]any{"path": "token", "expirationSeconds": ttl}},
			map[string]any{"configMap": map[string]any{"name": "kube-root-ca.crt", "items": []any{map[string]any{"key": "ca.crt", "path": "ca.crt"}}}},
			map[string]any{"downwardAPI": map[string]any{"items": []any{map[string]any{"path": "namespace", "fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}}}},
		}},
	})
	spec["volumes"] = volumes
	mounted := 0
	for _, field := range []string{"initContainers", "containers"} {
		for _, c := range slice(spec, field) {
			cm := asMap(c)
			mounts := slice(cm, "volumeMounts")
			if hasMountAt(mounts, tokenMountPath) {
				continue
			}
			cm["volumeMounts"] = append(mounts, map[string]any{"name": tokenVolume, "mountPath": tokenMountPath, "readOnly": true})
			mounted++
		}
	}
	return fmt.Sprintf("automounted token replaced by a %ds projection in %d container(s)", ttl, mounted)
}

func hasMountAt(mounts []any, path string) bool {
	for _, m := range mounts {
		if asMap(m)["mountPath"] == path {
			return true
		}
	}
	return false
}

// slice returns m[key] as a list, sharing its elements (unstructured.NestedSlice would
// deep-copy them, losing the edits made through them).
func slice(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// Images lists the container images the manifests reference.
func Images(objs []*unstructured.Unstructured) []string {
	seen := map[string]bool{}
	var out []string
	_, _ = eachPodSpec(objs, func(_ *unstructured.Unstructured, spec map[string]any) error {
		for _, field := range []string{"initContainers", "containers"} {
			for _, c := range slice(spec, field) {
				if img, _ := asMap(c)["image"].(string); img != "" && !seen[img] {
					seen[img] = true
					out = append(out, img)
				}
			}
		}
		return nil
	})
	return out
}
