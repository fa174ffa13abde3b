package cluster

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func fixtures(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "fixtures")
}

func validOptions(t *testing.T) Options {
	return Options{Name: "satoken", NodeImage: "img", MaxTokenExpiration: time.Hour, FixturesDir: fixtures(t), StateDir: "/state"}
}

func TestValidate(t *testing.T) {
	require.NoError(t, validOptions(t).Validate())
	for name, mutate := range map[string]func(*Options){
		"expiry below 1h":  func(o *Options) { o.MaxTokenExpiration = 59 * time.Minute },
		"zero expiry":      func(o *Options) { o.MaxTokenExpiration = 0 },
		"bad name":         func(o *Options) { o.Name = "Bad_Name" },
		"empty name":       func(o *Options) { o.Name = "" },
		"no image":         func(o *Options) { o.NodeImage = "" },
		"extension capped": func(o *Options) { o.ExtendTokenExpiration = true }, // 1h < 3607 s
	} {
		t.Run(name, func(t *testing.T) {
			o := validOptions(t)
			mutate(&o)
			require.Error(t, o.Validate())
		})
	}
}

func TestRenderConfig(t *testing.T) {
	o := validOptions(t)
	o.MaxTokenExpiration = 90 * time.Minute
	for _, offline := range []bool{true, false} {
		raw, err := o.RenderConfig(offline)
		require.NoError(t, err)
		var cfg v1alpha4.Cluster
		require.NoError(t, yaml.UnmarshalStrict(raw, &cfg), string(raw))
		require.Equal(t, "127.0.0.1", cfg.Networking.APIServerAddress)
		require.Equal(t, offline, cfg.Networking.DisableDefaultCNI)
		require.Len(t, cfg.Nodes, 1)
		require.Equal(t, "/state/audit", cfg.Nodes[0].ExtraMounts[0].HostPath)

		args := apiServerArgs(t, cfg)
		require.Equal(t, "1h30m0s", args["service-account-max-token-expiration"])
		require.Equal(t, "false", args["service-account-extend-token-expiration"])
		require.Equal(t, "/var/log/satoken-audit/audit.log", args["audit-log-path"])
		require.Equal(t, "200", args["audit-log-maxsize"])
		require.Equal(t, "2", args["audit-log-maxbackup"])
		if offline {
			require.Len(t, cfg.KubeadmConfigPatches, 2)
			require.Contains(t, cfg.KubeadmConfigPatches[1], "addon/coredns")
		} else {
			require.Len(t, cfg.KubeadmConfigPatches, 1, "kind's node images have CoreDNS and kindnet")
		}
	}
}

func TestRenderConfigAuditLogRotation(t *testing.T) {
	o := validOptions(t)
	o.AuditLogRotation = AuditLogRotation{MaxSizeMB: 1, MaxBackups: 50}
	raw, err := o.RenderConfig(true)
	require.NoError(t, err)
	var cfg v1alpha4.Cluster
	require.NoError(t, yaml.UnmarshalStrict(raw, &cfg), string(raw))
	args := apiServerArgs(t, cfg)
	require.Equal(t, "1", args["audit-log-maxsize"])
	require.Equal(t, "50", args["audit-log-maxbackup"])
}

func TestRenderConfigExtend(t *testing.T) {
	o := validOptions(t)
	o.ExtendTokenExpiration, o.MaxTokenExpiration = true, 24*time.Hour
	require.NoError(t, o.Validate())
	raw, err := o.RenderConfig(true)
	require.NoError(t, err)
	require.Contains(t, string(raw), `service-account-extend-token-expiration: "true"`)
}

func TestAdmissionPolicyAPI(t *testing.T) {
	for image, want := range map[string]string{
		"satoken/kind-node:v1.34.4":          "admissionregistration.k8s.io/v1beta1",
		"kindest/node:v1.35.0@sha256:abcdef": "admissionregistration.k8s.io/v1beta1",
		"kindest/node:v1.33.1":               "admissionregistration.k8s.io/v1alpha1",
		"kindest/node:v1.31.0":               "", // no such feature gate: the apiserver would not start
		"example.com/custom-node:latest":     "", // unknown version: leave the apiserver alone
	} {
		o := validOptions(t)
		o.NodeImage = image
		require.Equal(t, want, o.AdmissionPolicyAPI(), image)
		raw, err := o.RenderConfig(false)
		require.NoError(t, err)
		var cfg v1alpha4.Cluster
		require.NoError(t, yaml.UnmarshalStrict(raw, &cfg), string(raw))
		args := apiServerArgs(t, cfg)
		if want == "" {
			require.NotContains(t, args, "feature-gates", image)
			continue
		}
		require.Equal(t, "MutatingAdmissionPolicy=true", args["feature-gates"])
		require.Equal(t, want+"=true", args["runtime-config"])
	}
}

// apiServerArgs parses the kubeadm patch as the kubeadm API would and returns its apiserver flags.
func apiServerArgs(t *testing.T, cfg v1alpha4.Cluster) map[string]string {
	var patch struct {
		APIServer struct {
			ExtraArgs map[string]string `json:"extraArgs"`
		} `json:"apiServer"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(cfg.KubeadmConfigPatches[0]), &patch))
	return patch.APIServer.ExtraArgs
}

// kubeletPatch returns the KubeletConfiguration patch of a rendered config, or nil.
func kubeletPatch(t *testing.T, cfg v1alpha4.Cluster) map[string]any {
	for _, p := range cfg.KubeadmConfigPatches {
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(p), &m))
		if m["kind"] == "KubeletConfiguration" {
			return m
		}
	}
	return nil
}

func TestKubeletCgroupV1Patch(t *testing.T) {
	saved := hostCgroupV1
	t.Cleanup(func() { hostCgroupV1 = saved })
	for _, tc := range []struct {
		image    string
		cgroupV1 bool
		want     bool
	}{
		{"satoken/kind-node:v1.34.4", true, false}, // 1.34 runs on cgroup v1 by default
		{"satoken/kind-node:v1.35.8", true, true},
		{"satoken/kind-node:v1.37.2", true, true},
		{"kindest/node:v1.36.1@sha256:abc", true, true},
		{"satoken/kind-node:v1.37.2", false, false}, // cgroup v2: keep the kubelet's default
		{"example.com/custom-node:latest", true, false},
	} {
		hostCgroupV1 = func() bool { return tc.cgroupV1 }
		o := validOptions(t)
		o.NodeImage = tc.image
		require.Equal(t, tc.want, o.KubeletAllowCgroupV1(), "%s cgroup v1 %v", tc.image, tc.cgroupV1)
		for _, offline := range []bool{true, false} {
			raw, err := o.RenderConfig(offline)
			require.NoError(t, err)
			var cfg v1alpha4.Cluster
			require.NoError(t, yaml.UnmarshalStrict(raw, &cfg), string(raw))
			patch := kubeletPatch(t, cfg)
			if !tc.want {
				require.Nil(t, patch, "%s cgroup v1 %v:\n%s", tc.image, tc.cgroupV1, raw)
				continue
			}
			require.NotNil(t, patch, string(raw))
			require.Equal(t, false, patch["failCgroupV1"])
			require.NotContains(t, patch, "apiVersion", "kind matches the patch by kind alone")
		}
	}
}

func TestOfflineSkipPhasesKeepKindsPreflight(t *testing.T) {
	raw, err := validOptions(t).RenderConfig(true)
	require.NoError(t, err)
	var cfg v1alpha4.Cluster
	require.NoError(t, yaml.UnmarshalStrict(raw, &cfg))
	var init struct {
		Kind       string   `json:"kind"`
		SkipPhases []string `json:"skipPhases"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(cfg.KubeadmConfigPatches[1]), &init))
	require.Equal(t, "InitConfiguration", init.Kind)
	// A merge patch replaces kind's ["preflight"]: it must still be in the list.
	require.Equal(t, []string{"preflight", "addon/coredns"}, init.SkipPhases)
}
