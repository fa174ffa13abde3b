// Command probe lists the pods of its own namespace every --interval with a clientset
// built from k8s.io/client-go's rest.InClusterConfig, and writes one JSON line per call
// (schema: package probelog). It never exits on API errors: its output is the record of
// whether this client-go version keeps sending an expired projected ServiceAccount token
// or picks up the kubelet's refreshed one.
//
// --mode watch and --mode lease make it a stand-in for other kinds of add-on: one that
// only holds an informer, and one that renews a leader-election Lease.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// buildLabel is the matrix label, set by the harness with -ldflags -X main.buildLabel=.
var buildLabel string

const (
	saDir = "/var/run/secrets/kubernetes.io/serviceaccount"
	// callTimeout bounds one List so a hung connection cannot stall the record.
	callTimeout = 30 * time.Second
)

// Modes: what API traffic the probe makes.
const (
	modeList  = "list"  // List every --interval (the reproduction)
	modeWatch = "watch" // an informer on the pods: LIST, then WATCHes; nothing periodic
	modeLease = "lease" // leader election on a Lease, renewed every RetryPeriod
)

var errNoLeaseLock = errors.New("--mode lease needs client-go's Lease lock, which exists from v11.0.0 (Kubernetes 1.14) on")

// checkMode validates --mode; leaseOK says whether this build has the Lease lock.
func checkMode(mode string, leaseOK bool) error {
	switch mode {
	case modeList, modeWatch:
		return nil
	case modeLease:
		if !leaseOK {
			return errNoLeaseLock
		}
		return nil
	}
	return fmt.Errorf("unknown --mode %q (want %s, %s or %s)", mode, modeList, modeWatch, modeLease)
}

func main() {
	interval := flag.Duration("interval", 5*time.Second, "time between API calls (--mode list) and between token file checks")
	label := flag.String("label", envOr("PROBE_LABEL", buildLabel), "matrix label written on every line")
	// rest.InClusterConfig always reads the fixed in-cluster path; this only moves the watch.
	tokenFile := flag.String("token-file", saDir+"/token", "token file to watch for changes")
	nsFile := flag.String("namespace-file", saDir+"/namespace", "namespace file (env POD_NAMESPACE wins)")
	mode := flag.String("mode", modeList, "list: List pods every --interval; watch: an informer on the pods, no periodic calls; lease: leader election on a Lease")
	leaseName := flag.String("lease-name", "probe", "--mode lease: the Lease's name (in the probe's namespace)")
	// An operator stand-in: the add-on starts a pod of its own later, as operators create
	// their operands.
	op := operand{}
	flag.StringVar(&op.image, "operand-image", "", "--mode list: after --operand-after, create one pod running this image in the probe's namespace (an operator's operand)")
	flag.DurationVar(&op.after, "operand-after", 5*time.Minute, "when to create the --operand-image pod")
	flag.StringVar(&op.serviceAccount, "operand-service-account", "default", "the operand pod's ServiceAccount")
	flag.StringVar(&op.args, "operand-args", "", "the operand container's arguments, comma-separated")
	// glog (client-go ≤ v9) and klog < v1 log to files in $TMPDIR by default and exit when
	// they cannot create them, which they cannot in a FROM scratch image.
	if f := flag.Lookup("logtostderr"); f != nil {
		_ = f.Value.Set("true")
	}
	flag.Parse()
	cg, cgReplace := clientGoModule()
	if err := checkMode(*mode, leaseLockAvailable); err != nil {
		if errors.Is(err, errNoLeaseLock) {
			err = fmt.Errorf("%w; this probe is built with client-go %s", err, cg)
		}
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		os.Exit(2)
	}

	out := json.NewEncoder(os.Stdout)
	var outMu sync.Mutex // informer and leader-election callbacks emit from their own goroutines
	emit := func(l probelog.Line) {
		outMu.Lock()
		defer outMu.Unlock()
		l.Time = time.Now().UTC()
		l.Label = *label
		_ = out.Encode(l) // one Write per line; nowhere to report a broken stdout
	}

	ns := namespace(*nsFile)
	start := probelog.Line{Kind: probelog.KindStart, ClientGo: cg, ClientGoReplace: cgReplace,
		GoVersion: runtime.Version(), Interval: interval.String(), Namespace: ns}
	if *mode != modeList { // list mode's output stays as it was
		start.Mode = *mode
	}
	emit(start)
	watch := &tokenWatcher{path: *tokenFile}
	if l, changed := watch.check(); changed {
		emit(l)
	}

	cfg, err := rest.InClusterConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: not running in a cluster: %v\n", err)
		os.Exit(2)
	}
	// rest.Config.Timeout is the http.Client's: it would cut every watch after 30 s.
	if *mode != modeWatch {
		cfg.Timeout = callTimeout
	}
	obs := &observer{}
	if *mode != modeList {
		// client-go makes the calls: describe each HTTP request instead.
		obs.perRequest = emit
	}
	// client-go v9/v10 inject the token through InClusterConfig's own WrapTransport:
	// keep it, outside the recorder, so the recorder sees the header it sets.
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		rt = obs.wrap(rt)
		if prev != nil {
			rt = prev(rt)
		}
		return rt
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: building clientset: %v\n", err)
		os.Exit(1)
	}

	switch *mode {
	case modeWatch:
		go runWatch(cs, ns, emit) // never returns
		watchTokenFile(watch, *interval, emit)
	case modeLease:
		go watchTokenFile(watch, *interval, emit)
		id := identity()
		runLease(cs, ns, *leaseName, id, emit)
		// Like a controller: a lost lease ends the process, so Kubernetes restarts it.
		fmt.Fprintf(os.Stderr, "probe: %s lost the lease %s/%s\n", id, ns, *leaseName)
		os.Exit(1)
	}

	tick := time.NewTicker(*interval)
	defer tick.Stop()
	started := time.Now()
	for seq := int64(1); ; seq++ {
		if l, changed := watch.check(); changed {
			emit(l)
		}
		emit(call(cs, ns, obs, seq))
		if op.image != "" && !op.created && time.Since(started) >= op.after {
			emit(op.create(cs, ns))
		}
		<-tick.C
	}
}

// operand is the pod an operator stand-in creates once, later.
type operand struct {
	image, serviceAccount, args string
	after                       time.Duration
	created                     bool
}

func (o *operand) create(cs kubernetes.Interface, ns string) probelog.Line {
	name := identity() + "-operand"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "operand"}},
		Spec: corev1.PodSpec{ServiceAccountName: o.serviceAccount,
			Containers: []corev1.Container{{Name: "operand", Image: o.image, ImagePullPolicy: corev1.PullIfNotPresent}}},
	}
	if o.args != "" {
		pod.Spec.Containers[0].Args = strings.Split(o.args, ",")
	}
	l := probelog.Line{Kind: probelog.KindEvent, Event: "operand-created", Object: ns + "/" + name}
	if err := createPod(cs, pod); err != nil {
		l.Event, l.Error = "operand-failed", probelog.CleanError(err.Error())
		return l // retried on the next tick
	}
	o.created = true
	return l
}

// watchTokenFile reports token file changes every interval, forever (modes watch and
// lease, where no call of ours paces the checks).
func watchTokenFile(w *tokenWatcher, every time.Duration, emit func(probelog.Line)) {
	for {
		time.Sleep(every)
		if l, changed := w.check(); changed {
			emit(l)
		}
	}
}

// identity is the leader-election identity: the pod name (downward API), else the
// hostname, which is the pod name unless the pod sets its own.
func identity() string {
	if n := os.Getenv("POD_NAME"); n != "" {
		return n
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "probe"
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func namespace(file string) string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(file); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	return "default"
}

// clientGoModule reports the k8s.io/client-go this binary was linked with.
func clientGoModule() (version, replace string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown", ""
	}
	for _, d := range bi.Deps {
		if d.Path != "k8s.io/client-go" {
			continue
		}
		if r := d.Replace; r != nil {
			replace = r.Path
			if r.Version != "" {
				replace += "@" + r.Version
			}
		}
		return d.Version, replace
	}
	return "unknown", ""
}

// call makes one List and describes it.
func call(cs kubernetes.Interface, ns string, obs *observer, seq int64) probelog.Line {
	obs.reset()
	start := time.Now()
	err := listPods(cs, ns)
	l := probelog.Line{Kind: probelog.KindCall, Seq: seq,
		LatencyMs: float64(time.Since(start).Microseconds()) / 1000}
	seen := obs.snapshot()
	l.AuthHash, l.AuthHashNote, l.Requests = seen.authHash, seen.note, seen.requests
	l.Outcome, l.Status = classify(err, seen.status)
	if err != nil {
		l.Error = probelog.CleanError(err.Error())
	}
	return l
}

// classify maps a List result to an outcome. client-go of every era turns a 401 into a
// StatusError (from the Status body, or a generic one for a bare 401) whose code is 401;
// the status seen on the wire is the fallback for errors that carry no code.
func classify(err error, wireStatus int) (string, int) {
	if err == nil {
		return probelog.OutcomeOK, wireStatus
	}
	code := 0
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		code = int(st.Status().Code)
	}
	if code == 0 {
		code = wireStatus
	}
	switch {
	case apierrors.IsUnauthorized(err) || code == http.StatusUnauthorized:
		return probelog.OutcomeUnauthorized, http.StatusUnauthorized
	case code == 0 || code/100 == 2: // transport failure, or a 2xx that failed to decode
		return probelog.OutcomeError, code
	}
	return probelog.HTTPOutcome(code), code
}

// observer records what the innermost transport saw during one call. client-go applies
// rest.Config.WrapTransport inside its bearer-token round tripper, so the recorder sees
// the Authorization header that actually went out.
type observer struct {
	mu      sync.Mutex
	wrapped bool
	cur     observation
	// perRequest, when set, gets a call line for every HTTP request.
	perRequest func(probelog.Line)
	seq        int64
}

type observation struct {
	requests int
	authHash string
	note     string
	status   int
}

// wrap is the rest.Config.WrapTransport hook. client-go may call it once per API group
// client; all of them report into the same observer.
func (o *observer) wrap(rt http.RoundTripper) http.RoundTripper {
	o.mu.Lock()
	o.wrapped = true
	o.mu.Unlock()
	return &recordingTransport{next: rt, obs: o}
}

func (o *observer) reset() {
	o.mu.Lock()
	o.cur = observation{}
	o.mu.Unlock()
}

func (o *observer) snapshot() observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.cur
	switch {
	case !o.wrapped:
		c.note = "client-go never called rest.Config.WrapTransport: the token sent is not observable"
	case c.requests == 0:
		c.note = "no HTTP request reached the transport"
	}
	return c
}

type recordingTransport struct {
	next http.RoundTripper
	obs  *observer
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	hash, herr := tokeninfo.HashAuthorization(req.Header.Get("Authorization"))
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	t.obs.mu.Lock()
	c := &t.obs.cur
	c.requests++
	c.authHash, c.note, c.status = hash, "", 0
	if herr != nil {
		c.note = herr.Error()
	}
	if resp != nil {
		c.status = resp.StatusCode
	}
	t.obs.seq++
	seq, status, note, each := t.obs.seq, c.status, c.note, t.obs.perRequest
	t.obs.mu.Unlock()
	if each != nil {
		// A watch's latency is the time to its response headers, not the stream's life.
		l := probelog.Line{Kind: probelog.KindCall, Seq: seq, Method: req.Method, Path: req.URL.RequestURI(),
			LatencyMs: float64(time.Since(start).Microseconds()) / 1000,
			AuthHash:  hash, AuthHashNote: note, Requests: 1, Status: status}
		if err != nil {
			l.Outcome, l.Error = probelog.OutcomeError, probelog.CleanError(err.Error())
		} else {
			l.Outcome = probelog.HTTPOutcome(status)
		}
		each(l)
	}
	return resp, err
}

// WrappedRoundTripper lets client-go's utilnet unwrap transports through this one.
func (t *recordingTransport) WrappedRoundTripper() http.RoundTripper { return t.next }

// tokenWatcher reports the token file when its content (or read error) changes.
type tokenWatcher struct {
	path string
	last string
}

func (w *tokenWatcher) check() (probelog.Line, bool) {
	l := probelog.Line{Kind: probelog.KindToken}
	key := ""
	if b, err := os.ReadFile(w.path); err != nil {
		l.TokenError = probelog.CleanError(err.Error())
		key = "error: " + l.TokenError
	} else {
		// Newer client-go trims the file before use; the kubelet writes no whitespace.
		tok := strings.TrimSpace(string(b))
		l.TokenHash = tokeninfo.Hash(tok)
		key = l.TokenHash
		if c, err := tokeninfo.Decode(tok); err != nil {
			l.TokenError = probelog.CleanError(err.Error())
		} else {
			l.Iat, l.Exp, l.Nbf = c.Iat, c.Exp, c.Nbf
		}
	}
	if key == w.last {
		return l, false
	}
	w.last = key
	return l, true
}
