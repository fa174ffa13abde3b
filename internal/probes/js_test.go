package probes

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
	"github.com/satoken-e2e/satoken-e2e/internal/prereq"
)

// The checked-in JavaScript matrix: js-<version> labels, oldest first, the adapter of
// each version's era, npm files that npm ci --offline can install (checked by Load).
func TestLoadJSMatrix(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	js := OfLanguage(all, LanguageJS)
	require.GreaterOrEqual(t, len(js), 2)
	require.Equal(t, len(all), len(js)+len(OfLanguage(all, LanguageGo)), "every probe has a language")
	prev := ""
	for _, p := range js {
		v := p.LibraryVersion()
		require.Equal(t, JSLabelPrefix+v, p.Label)
		require.Equal(t, "@kubernetes/client-node@"+v, p.Module)
		require.Equal(t, ClientNodePackage, p.Library())
		want := "fetch"
		if semver.Major("v"+v) == "v0" {
			want = "request"
		}
		require.Equal(t, want, p.Adapter, "%s: the adapter of its era", p.Label)
		if prev != "" {
			require.Equal(t, 1, semver.Compare("v"+v, "v"+prev), "%s after %s: oldest first", v, prev)
		}
		prev = v
	}
	for _, p := range OfLanguage(all, LanguageGo) {
		require.Equal(t, "k8s.io/client-go", p.Library())
		require.Equal(t, p.Module, p.LibraryVersion())
	}
}

// writeJSMatrix makes a repo root with an empty Go matrix and a JavaScript one whose
// labels get npm files pinning version (lock: the lockfile's packages entry of the
// client; "" leaves the resolved URL out).
func writeJSMatrix(t *testing.T, matrix string, files map[string]string) string {
	t.Helper()
	root := writeMatrix(t, `[{"label":"go","module":"v1.0.0"}]`, "go")
	dir := filepath.Join(root, JSProbeDir)
	for rel, data := range files {
		p := filepath.Join(dir, versionsDir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, matrixFile), []byte(matrix), 0o644))
	return root
}

func npmFiles(label, version, lockVersion string, resolved bool) map[string]string {
	pkg := `{"name":"p","private":true,"dependencies":{"@kubernetes/client-node":"` + version + `"}}`
	library := "node-fetch" // the HTTP library of the version's adapter
	if semver.Major("v"+lockVersion) == "v0" {
		library = "request"
	}
	entry := `"version":"` + lockVersion + `","integrity":"sha512-x","dependencies":{"` + library + `":"^2"}`
	if resolved {
		entry += `,"resolved":"https://registry.npmjs.org/@kubernetes/client-node/-/client-node-` + lockVersion + `.tgz"`
	}
	lock := `{"lockfileVersion":3,"packages":{"":{"dependencies":{"@kubernetes/client-node":"` + version + `"}},` +
		`"node_modules/@kubernetes/client-node":{` + entry + `}}}`
	return map[string]string{label + "/" + PackageFile: pkg, label + "/" + LockFile: lock}
}

func TestLoadJS(t *testing.T) {
	entry := `[{"label":"js-1.4.0","version":"1.4.0","adapter":"fetch","note":"n"}]`
	all, err := Load(writeJSMatrix(t, entry, npmFiles("js-1.4.0", "1.4.0", "1.4.0", true)))
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, Probe{Label: "js-1.4.0", Module: "@kubernetes/client-node@1.4.0", Note: "n", Language: LanguageJS, Adapter: "fetch"}, all[1])

	for name, c := range map[string]struct {
		matrix string
		files  map[string]string
		err    string
	}{
		"unknown field": {`[{"label":"js-1.4.0","version":"1.4.0","adapter":"fetch","note":"n","tags":[]}]`, npmFiles("js-1.4.0", "1.4.0", "1.4.0", true), "unknown field"},
		"no prefix":     {`[{"label":"1.4.0","version":"1.4.0","adapter":"fetch","note":"n"}]`, npmFiles("1.4.0", "1.4.0", "1.4.0", true), "js-<version>"},
		"go label":      {`[{"label":"go","version":"1.4.0","adapter":"fetch","note":"n"}]`, npmFiles("go", "1.4.0", "1.4.0", true), "label"},
		"range":         {`[{"label":"js-1.4","version":"^1.4.0","adapter":"fetch","note":"n"}]`, npmFiles("js-1.4", "^1.4.0", "1.4.0", true), "exact npm version"},
		"adapter":       {`[{"label":"js-1.4.0","version":"1.4.0","adapter":"axios","note":"n"}]`, npmFiles("js-1.4.0", "1.4.0", "1.4.0", true), "adapter"},
		"no note":       {`[{"label":"js-1.4.0","version":"1.4.0","adapter":"fetch"}]`, npmFiles("js-1.4.0", "1.4.0", "1.4.0", true), "note"},
		"duplicate":     {`[{"label":"js-1.4.0","version":"1.4.0","adapter":"fetch","note":"n"},{"label":"js-1.4.0","version":"1.4.0","adapter":"fetch","note":"n"}]`, npmFiles("js-1.4.0", "1.4.0", "1.4.0", true), "twice"},
		"no files":      {entry, nil, "no such file"},
		"other pin":     {entry, npmFiles("js-1.4.0", "1.3.0", "1.3.0", true), "want exactly @kubernetes/client-node 1.4.0"},
		"stale lock":    {entry, npmFiles("js-1.4.0", "1.4.0", "1.3.0", true), "installs @kubernetes/client-node"},
		"no resolved":   {entry, npmFiles("js-1.4.0", "1.4.0", "1.4.0", false), "--omit-lockfile-registry-resolved=false"},
	} {
		_, err := Load(writeJSMatrix(t, c.matrix, c.files))
		require.ErrorContains(t, err, c.err, name)
	}
}

func TestJSInputHash(t *testing.T) {
	files := map[string]string{}
	for k, v := range npmFiles("js-1.0.0", "1.0.0", "1.0.0", true) {
		files[k] = v
	}
	for k, v := range npmFiles("js-1.4.0", "1.4.0", "1.4.0", true) {
		files[k] = v
	}
	root := writeJSMatrix(t, `[]`, files)
	write := func(rel, s string) {
		t.Helper()
		p := filepath.Join(root, JSProbeDir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	}
	write("probe.js", "main\n")
	write("lib/wire.js", "wire\n")
	p := Probe{Label: "js-1.0.0", Module: "@kubernetes/client-node@1.0.0", Language: LanguageJS, Adapter: "fetch"}
	env := &jsEnv{npm: "11.0.0", base: jsBase{Digest: "sha256:aa"}}
	hash := func(p Probe, env *jsEnv) string {
		t.Helper()
		h, err := jsInputHash(root, p, env)
		require.NoError(t, err)
		return h
	}
	base := hash(p, env)
	require.Len(t, base, 16)
	require.Equal(t, base, hash(p, env))
	// Tests, docs and other versions' files do not change the image.
	write("test/wire.test.js", "test\n")
	write("lib/x.test.js", "test\n")
	write("README.md", "docs\n")
	write("node_modules/x/index.js", "installed\n")
	write(versionsDir+"/js-1.4.0/"+LockFile, "other\n")
	require.Equal(t, base, hash(p, env), "hash changed on irrelevant files")
	for name, f := range map[string]func() string{
		"npm":     func() string { return hash(p, &jsEnv{npm: "11.0.1", base: env.base}) },
		"base":    func() string { return hash(p, &jsEnv{npm: env.npm, base: jsBase{Digest: "sha256:bb"}}) },
		"adapter": func() string { q := p; q.Adapter = "request"; return hash(q, env) },
		"label":   func() string { q := p; q.Label = "js-1.4.0"; return hash(q, env) },
		"lockfile": func() string {
			write(versionsDir+"/js-1.0.0/"+LockFile, "changed\n")
			return hash(p, env)
		},
		"source": func() string { write("adapters/fetch.js", "new\n"); return hash(p, env) },
	} {
		require.NotEqual(t, base, f(), "hash ignores %s", name)
	}
}

// layerEntries lists a gzip layer file: name → mode, with file contents.
func layerEntries(t *testing.T, file string) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	headers, data := map[string]*tar.Header{}, map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return headers, data
		}
		require.NoError(t, err)
		headers[h.Name] = h
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		data[h.Name] = string(b)
	}
}

func TestWriteTreeLayer(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string, mode os.FileMode) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(s), mode))
	}
	write("probe.js", "main\n", 0o600)
	write("node_modules/@kubernetes/client-node/package.json", `{"name":"@kubernetes/client-node","version":"1.4.0"}`, 0o644)
	write("node_modules/x/cli.js", "#!/usr/bin/env node\n", 0o700)
	write("node_modules/.package-lock.json", "npm's own cache\n", 0o644)
	out := filepath.Join(t.TempDir(), "a.tar.gz")
	require.NoError(t, writeTreeLayer(dir, "app", out))

	headers, data := layerEntries(t, out)
	require.NotContains(t, headers, "app/node_modules/.package-lock.json")
	require.Equal(t, "main\n", data["app/probe.js"])
	require.Equal(t, int64(0o644), headers["app/probe.js"].Mode)
	require.Equal(t, int64(0o755), headers["app/node_modules/x/cli.js"].Mode)
	require.Equal(t, int64(0o755), headers["app/node_modules/"].Mode)
	for _, h := range headers {
		require.Zero(t, h.Uid)
		require.Equal(t, int64(0), h.ModTime.Unix())
	}
	v, err := ClientNodeVersion(out)
	require.NoError(t, err)
	require.Equal(t, "1.4.0", v)

	// Same files, other times: the same bytes.
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "probe.js"), later, later))
	again := filepath.Join(t.TempDir(), "b.tar.gz")
	require.NoError(t, writeTreeLayer(dir, "app", again))
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	require.Equal(t, a, b)

	require.NoError(t, os.Remove(filepath.Join(dir, "node_modules/@kubernetes/client-node/package.json")))
	require.NoError(t, writeTreeLayer(dir, "app", again))
	_, err = ClientNodeVersion(again)
	require.ErrorContains(t, err, "no @kubernetes/client-node")
}

func TestBaseLayerFromRootfs(t *testing.T) {
	status := "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n" +
		"Package: nodejs\nStatus: install ok installed\nPriority: optional\nVersion: 18.20.4+dfsg-1~deb12u2\n\n" +
		"Package: nodejs-doc\nStatus: deinstall ok config-files\nVersion: 1\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "./dev/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "./dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Name: "./usr/bin/node", Typeflag: tar.TypeReg, Mode: 0o755, Size: 4},
		{Name: "./usr/bin/nodejs", Typeflag: tar.TypeSymlink, Linkname: "node"},
		{Name: "./usr/bin/node2", Typeflag: tar.TypeLink, Linkname: "./usr/bin/node"},
		{Name: "./usr/share/doc/nodejs/copyright", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4},
		{Name: "./var/lib/dpkg/status", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(status))},
		{Name: "./tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
	} {
		require.NoError(t, tw.WriteHeader(h))
		switch h.Name {
		case "./var/lib/dpkg/status":
			_, _ = tw.Write([]byte(status))
		case "./usr/bin/node", "./usr/share/doc/nodejs/copyright":
			_, _ = tw.Write([]byte("data"))
		}
	}
	require.NoError(t, tw.Close())
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	require.NoError(t, os.WriteFile(rootfs, buf.Bytes(), 0o644))
	layer := filepath.Join(t.TempDir(), "base.tar.gz")

	nodejs, err := baseLayerFromRootfs(rootfs, layer)
	require.NoError(t, err)
	require.Equal(t, "18.20.4+dfsg-1~deb12u2", nodejs)
	headers, data := layerEntries(t, layer)
	var names []string
	for n := range headers {
		names = append(names, n)
	}
	require.ElementsMatch(t, []string{"dev/", "usr/bin/node", "usr/bin/nodejs", "usr/bin/node2", "var/lib/dpkg/status", "tmp/"}, names)
	require.Equal(t, "usr/bin/node", headers["usr/bin/node2"].Linkname)
	require.Equal(t, status, data["var/lib/dpkg/status"])

	noNode := strings.Replace(status, "Package: nodejs\n", "Package: python3\n", 1)
	require.Empty(t, dpkgVersion([]byte(noNode), "nodejs"))
}

func TestOCIImageJS(t *testing.T) {
	dir := t.TempDir()
	layer := func(name, file, content string) string {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: file, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}))
		_, _ = tw.Write([]byte(content))
		require.NoError(t, tw.Close())
		require.NoError(t, zw.Close())
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
		return p
	}
	base, app := layer("base.tar.gz", "usr/bin/node", "node"), layer("app.tar.gz", "app/probe.js", "probe")
	p := Probe{Label: "js-1.4.0", Module: "@kubernetes/client-node@1.4.0", Language: LanguageJS, Adapter: "fetch"}
	b := Built{Probe: p, Image: ImageName(p.Label), InputHash: "abc", Layers: []string{base, app}, NodeJS: "18.20.4"}

	img, _ := reproducible(t, b)

	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, []string{"/usr/bin/node", "/app/probe.js"}, cfg.Config.Entrypoint)
	require.Equal(t, "65534:65534", cfg.Config.User)
	require.Equal(t, "/app", cfg.Config.WorkingDir)
	require.Equal(t, "abc", cfg.Config.Labels[inputsLabel])
	require.Equal(t, "1.4.0", cfg.Config.Labels["satoken.probe.client-node"])
	require.Equal(t, "18.20.4", cfg.Config.Labels["satoken.probe.nodejs"])
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 2)
	for i, file := range []string{base, app} {
		data, _ := os.ReadFile(file)
		sum := sha256.Sum256(data)
		d, err := layers[i].Digest()
		require.NoError(t, err)
		require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), d.String(), "layer %d is the cached file as is", i)
	}

	b.Layers = b.Layers[:1]
	_, err = b.OCI()
	require.ErrorContains(t, err, "want the Node.js base and the app")
}

func nodeOrSkip(t *testing.T) string {
	t.Helper()
	return prereq.Command(t, "node", "the JavaScript probes need nodejs and npm on the host")
}

// The JavaScript probe's own unit tests (node --test).
func TestJSProbeUnitTests(t *testing.T) {
	node := nodeOrSkip(t)
	cmd := exec.Command(node, "--test", "test/")
	cmd.Dir = filepath.Join(repoRoot, JSProbeDir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// The JavaScript probe names tokens exactly as the Go probe and the harness do, and reads
// the same claims: its authHash and tokenHash are compared with Go's.
func TestJSTokeninfoMatchesGo(t *testing.T) {
	node := nodeOrSkip(t)
	tokens := []string{"", "abc", "eyJhbGciOiJSUzI1NiJ9.eyJpYXQiOjEwMCwiZXhwIjo3MDAsIm5iZiI6MTAwfQ.c2ln",
		"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjcwMC45fQ.c2ln", "a.b", "a.b+c.d", "ünïcödé", "x.e30.y", "x.eyJleHAiOiJzb29uIn0.y",
		"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjcwMH0=.c2ln"}
	headers := []string{"Bearer abc", " bearer  abc ", "Basic abc", "Bearer", "Bearer ", "", "BEARER\ttab", "Bearer  ünïcödé"}
	input, _ := json.Marshal(map[string]any{"tokens": tokens, "headers": headers})
	script := `
const t = require('./lib/tokeninfo');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const decode = (s) => { try { return t.decode(s); } catch (e) { return { error: true }; } };
process.stdout.write(JSON.stringify({
  hashes: input.tokens.map(t.hash),
  claims: input.tokens.map(decode),
  auth: input.headers.map((h) => t.hashAuthorization(h).hash || ''),
}));`
	cmd := exec.Command(node, "-e", script)
	cmd.Dir = filepath.Join(repoRoot, JSProbeDir)
	cmd.Stdin = bytes.NewReader(input)
	out, err := cmd.Output()
	require.NoError(t, err)
	var got struct {
		Hashes []string
		Claims []struct {
			Iat, Exp, Nbf int64
			Error         bool
		}
		Auth []string
	}
	require.NoError(t, json.Unmarshal(out, &got))
	for i, tok := range tokens {
		require.Equal(t, tokeninfo.Hash(tok), got.Hashes[i], "hash of %q", tok)
		c, err := tokeninfo.Decode(tok)
		require.Equal(t, err != nil, got.Claims[i].Error, "decode %q: Go error %v", tok, err)
		if err == nil {
			require.Equal(t, []int64{c.Iat, c.Exp, c.Nbf}, []int64{got.Claims[i].Iat, got.Claims[i].Exp, got.Claims[i].Nbf}, "claims of %q", tok)
		}
	}
	for i, h := range headers {
		want, _ := tokeninfo.HashAuthorization(h)
		require.Equal(t, want, got.Auth[i], "authorization %q", h)
	}
}
