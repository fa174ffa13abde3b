//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/satoken-e2e/satoken-e2e/internal/cluster"
	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// byoCluster is a cluster satoken did not make, as a user brings it: created with the kind
// library and a plain kind config (default apiserver token settings: extension on, no
// audit log), its containerd told to pull from a registry on this machine.
type byoCluster struct {
	name       string
	kubeconfig string
	registry   string // HOST:PORT/PATH the CLI pushes to and the node pulls from
	stop       func()
	provider   *kindcluster.Provider
}

// existingClusterFeature runs the satoken CLI against that cluster, as a user would:
// `satoken run --kubeconfig K --registry R`. v8.0.0 must fail after expiry and recover, the
// newest client-go must reload, nothing may be left behind, and a kubeconfig that points
// nowhere or lacks rights must be refused before anything is deployed (asserted first, so
// before the run).
func existingClusterFeature() features.Feature {
	return features.New("satoken run on a cluster it did not create (--kubeconfig, --registry)").
		WithLabel("scenario", "existing").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			b := &byoCluster{name: clusterName + "-byo", provider: kindcluster.NewProvider(kindcluster.ProviderWithDocker())}
			t.Cleanup(b.down)
			b.up(ctx, t, suiteOf(ctx))
			return withState(ctx, b)
		}).
		Assess("a kubeconfig that reaches nothing, or lacks rights, is refused before anything is deployed", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			b := stateOf[*byoCluster](ctx, t)
			out, code := satoken(ctx, t, "run", "--kubeconfig", filepath.Join(t.TempDir(), "missing"), "--registry", b.registry, "--versions", oldestLabel)
			assert.Equal(t, 1, code, out)
			assert.Contains(t, out, "kubeconfig")

			out, code = satoken(ctx, t, "run", "--kubeconfig", b.unprivilegedKubeconfig(ctx, t), "--registry", b.registry, "--versions", oldestLabel)
			assert.Equal(t, 1, code, out)
			assert.Contains(t, out, "may not create namespaces")
			assert.Contains(t, out, "nothing was deployed")
			assert.Empty(t, b.leftovers(ctx, t), "nothing deployed")
			return ctx
		}).
		Assess("satoken run exits 0: the verdicts it was told to --expect held", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			b, s := stateOf[*byoCluster](ctx, t), suiteOf(ctx)
			newest := s.newest().Probe.Label
			dir := filepath.Join(s.artifactsDir, "existing")
			out, code := satoken(ctx, t, "run", "--kubeconfig", b.kubeconfig, "--registry", b.registry,
				"--versions", oldestLabel+","+newest, "--settle", "2m", "--out", dir,
				"--expect", fmt.Sprintf("%s=%s,%s=%s", oldestLabel, verdict.FailsAfterExpiry, newest, verdict.Reloads))
			require.NoError(t, os.WriteFile(filepath.Join(s.artifactsDir, "existing.log"), []byte(out), 0o644))
			assert.Equal(t, 0, code, "satoken run exit code; output in %s", filepath.Join(s.artifactsDir, "existing.log"))

			data, err := os.ReadFile(filepath.Join(dir, "report.json"))
			require.NoError(t, err)
			var rep report.Report
			require.NoError(t, json.Unmarshal(data, &rep))
			return withState(ctx, &rep)
		}).
		Assess("the report names the existing cluster and the registry", onReport(func(ctx context.Context, t *testing.T, rep *report.Report) {
			b := stateOf[*byoCluster](ctx, t)
			require.Len(t, rep.Clusters, 1)
			assert.Contains(t, rep.Clusters[0].Kind, "existing cluster")
			assert.Equal(t, "registry "+b.registry, rep.Clusters[0].Images)
		})).
		Assess("v8.0.0 fails after expiry and recovers, the newest reloads, each on the pushed image and a 600 s token", onReport(func(ctx context.Context, t *testing.T, rep *report.Report) {
			b, newest := stateOf[*byoCluster](ctx, t), suiteOf(ctx).newest().Probe.Label
			require.Len(t, rep.Results, 2)
			for _, p := range rep.Results {
				assertConsistent(t, p, rep)
				assert.True(t, strings.HasPrefix(p.Image, b.registry+"/probe:"+p.Name()+"@sha256:"), "%s ran the pushed image, pinned by digest: %s", p.Name(), p.Image)
				assert.Equal(t, []string{report.EvidenceProbeLog, report.EvidenceRestarts}, p.Evidence, "%s: no audit log was given", p.Name())
				assert.Equal(t, int64(600), p.TokenExp.Unix()-p.TokenIat.Unix(), "%s: a 600 s projection is not extended, even with extension on", p.Name())
				switch p.Name() {
				case oldestLabel:
					assert.Equal(t, verdict.FailsAfterExpiry, p.Verdict, p.Reason)
					require.NotNil(t, p.Probe.RecoveredAfterRestart)
					assert.True(t, *p.Probe.RecoveredAfterRestart, "%s recovers after a restart", p.Name())
				case newest:
					assert.Equal(t, verdict.Reloads, p.Verdict, p.Reason)
				}
			}
		})).
		Assess("nothing is left behind", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			assert.Empty(t, stateOf[*byoCluster](ctx, t).leftovers(ctx, t), "every satoken namespace is gone")
			return ctx
		}).
		Feature()
}

// satoken runs the CLI (built once per suite) and returns its combined output and exit code.
func satoken(ctx context.Context, t *testing.T, args ...string) (string, int) {
	t.Helper()
	s := suiteOf(ctx)
	cmd := exec.CommandContext(ctx, s.cli.binary(t), args...)
	cmd.Dir = s.hctx.Root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	}
	require.NoError(t, err)
	return "", -1
}

// cli is the satoken binary under test: $SATOKEN_CLI (e.g. one from go install), else built
// at most once per suite run from this checkout into dir, a temporary directory removed at
// Finish, so suites side by side never run each other's build.
type cli struct {
	dir   string
	build func() (string, error)
}

func newCLI(root string) *cli {
	c := &cli{}
	c.build = sync.OnceValues(func() (string, error) {
		if path := os.Getenv("SATOKEN_CLI"); path != "" {
			return path, nil
		}
		dir, err := os.MkdirTemp("", "satoken-e2e-cli-")
		if err != nil {
			return "", err
		}
		c.dir = dir
		path := filepath.Join(dir, "satoken")
		_, err = gocmd.Run(context.Background(), root, gocmd.Pinned, "build", "-o", path, "./cmd/satoken")
		return path, err
	})
	return c
}

func (c *cli) binary(t *testing.T) string {
	path, err := c.build()
	require.NoError(t, err, "build the satoken CLI")
	return path
}

// removeCLI removes the suite's build of the CLI.
func removeCLI(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	c := suiteOf(ctx).cli
	if c == nil || c.dir == "" {
		return ctx, nil
	}
	return ctx, os.RemoveAll(c.dir)
}

const byoKindConfig = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  # satoken's offline node image brings its own CNI config (a registry node image would not need this).
  disableDefaultCNI: true
containerdConfigPatches:
- |-
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
kubeadmConfigPatches:
- |
  kind: InitConfiguration
  skipPhases: [addon/coredns]
`

func (b *byoCluster) up(ctx context.Context, t *testing.T, s *suite) {
	b.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	_ = b.provider.Delete(b.name, b.kubeconfig) // a leftover of an interrupted suite
	create := func() error {
		return b.provider.Create(b.name, kindcluster.CreateWithRawConfig([]byte(byoKindConfig)),
			kindcluster.CreateWithNodeImage(s.stockImage), kindcluster.CreateWithKubeconfigPath(b.kubeconfig),
			kindcluster.CreateWithWaitForReady(3*time.Minute), kindcluster.CreateWithDisplayUsage(false), kindcluster.CreateWithDisplaySalutation(false))
	}
	if err := create(); err != nil {
		t.Logf("kind create %s failed (%v): retrying once", b.name, err)
		_ = b.provider.Delete(b.name, b.kubeconfig)
		require.NoError(t, create())
	}
	require.NoError(t, cluster.WaitServiceRouting(ctx, b.name, s.hctx.Log))

	// The registry listens on the kind network's gateway: the host pushes to it and the
	// node pulls from it under the same name, over plain HTTP (a private address).
	gateway := kindGateway(t)
	l, err := net.Listen("tcp", net.JoinHostPort(gateway, "0"))
	require.NoError(t, err)
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	b.stop = func() { _ = srv.Close() }
	host := l.Addr().String()
	b.registry = host + "/satoken"
	hosts := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", "http://"+host, "http://"+host)
	nodes, err := b.provider.ListNodes(b.name)
	require.NoError(t, err)
	for _, n := range nodes {
		require.NoError(t, nodeutils.WriteFile(n, "/etc/containerd/certs.d/"+host+"/hosts.toml", hosts))
	}
	t.Logf("cluster %s made outside satoken; registry %s", b.name, b.registry)
}

func (b *byoCluster) down() {
	if b.stop != nil {
		b.stop()
	}
	if os.Getenv("SATOKEN_KEEP_CLUSTER") == "" {
		_ = b.provider.Delete(b.name, b.kubeconfig)
	}
}

// kindGateway is the IPv4 gateway of docker's "kind" network (the suite's cluster made it).
func kindGateway(t *testing.T) string {
	out, err := exec.Command("docker", "network", "inspect", "kind", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}").Output()
	require.NoError(t, err)
	for _, gw := range strings.Fields(string(out)) {
		if ip := net.ParseIP(gw); ip != nil && ip.To4() != nil {
			return gw
		}
	}
	require.FailNow(t, "no IPv4 gateway on docker network kind", "%s", out)
	return ""
}

// unprivilegedKubeconfig is a kubeconfig for a ServiceAccount with no rights at all.
func (b *byoCluster) unprivilegedKubeconfig(ctx context.Context, t *testing.T) string {
	kc, err := kube.New(b.kubeconfig, "")
	require.NoError(t, err)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "satoken-e2e-nobody", Namespace: "default"}}
	_, err = kc.Typed.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{})
	require.NoError(t, err)
	tok, err := kc.Typed.CoreV1().ServiceAccounts("default").CreateToken(ctx, sa.Name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	require.NoError(t, err)
	cfg, err := clientcmd.LoadFromFile(b.kubeconfig)
	require.NoError(t, err)
	cfg.AuthInfos = map[string]*clientcmdapi.AuthInfo{"nobody": {Token: tok.Status.Token}}
	cfg.Contexts[cfg.CurrentContext].AuthInfo = "nobody"
	// Outside the artifacts folder: the file holds a bearer token.
	path := filepath.Join(t.TempDir(), "nobody.kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

func (b *byoCluster) leftovers(ctx context.Context, t *testing.T) []string {
	kc, err := kube.New(b.kubeconfig, "")
	require.NoError(t, err)
	left, err := target.Leftovers(ctx, kc)
	require.NoError(t, err)
	return left
}
