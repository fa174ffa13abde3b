// Package audit reads the apiserver's audit log (JSON lines) for the evidence the harness
// attributes to pods: 401 answers by source IP and stale-token annotations.
package audit

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// StaleTokenAnnotation is set on requests authenticated with a token past its intended
// expiry that the apiserver's extension still accepts (the one-year grace period).
const StaleTokenAnnotation = "authentication.k8s.io/stale-token"

// Event holds the audit fields the harness reads.
type Event struct {
	AuditID        string    `json:"auditID"`
	Stage          string    `json:"stage"`
	RequestURI     string    `json:"requestURI"`
	Verb           string    `json:"verb"`
	SourceIPs      []string  `json:"sourceIPs"`
	UserAgent      string    `json:"userAgent"`
	Received       time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp time.Time `json:"stageTimestamp"`
	// ObjectRef and RequestObject are read for the kubelet's TokenRequests only (the
	// policy logs those at Request level: the request has no token, the response does).
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	RequestObject json.RawMessage `json:"requestObject"`
	User          struct {
		Username string              `json:"username"`
		Extra    map[string][]string `json:"extra"`
	} `json:"user"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Annotations map[string]string `json:"annotations"`
}

// Code is the HTTP status of the response (0 when not recorded).
func (e Event) Code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

// SourceIP is the first source address: the client as the apiserver saw it.
func (e Event) SourceIP() string {
	if len(e.SourceIPs) == 0 {
		return ""
	}
	return e.SourceIPs[0]
}

// PodName is the pod a ServiceAccount token was bound to, when the token says so.
func (e Event) PodName() string { return e.extra("authentication.kubernetes.io/pod-name") }

// PodUID is the UID of the pod the token was bound to.
func (e Event) PodUID() string { return e.extra("authentication.kubernetes.io/pod-uid") }

// CredentialID names the token used ("JTI=..." for bound ServiceAccount tokens, 1.29+).
func (e Event) CredentialID() string { return e.extra("authentication.kubernetes.io/credential-id") }

func (e Event) extra(key string) string {
	if v := e.User.Extra[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ReadFile parses an audit log as it is on disk: a log file together with its rotated
// backups beside it (the apiserver names them <name>-<timestamp><ext>, gzip-compressed
// with --audit-log-compress), or every file of a log directory. Unparsable lines (a
// partially written last line) are skipped; events come in file order, the backups
// (oldest first) before the live log.
func ReadFile(path string) ([]Event, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var files []string
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	} else {
		files = append(Backups(path), path)
	}
	var all []Event
	for _, f := range files {
		events, err := readOne(f)
		if err != nil {
			return nil, err
		}
		all = append(all, events...)
	}
	return all, nil
}

// Backups lists the rotated backups of a log file, oldest first: <base>-<timestamp><ext>
// and the same with .gz, in the log's directory (lumberjack's naming, which the
// apiserver's log rotation uses).
func Backups(path string) []string {
	dir, name := filepath.Split(path)
	ext := filepath.Ext(name)
	prefix := strings.TrimSuffix(name, ext) + "-"
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		n := strings.TrimSuffix(e.Name(), ".gz")
		if e.Type().IsRegular() && e.Name() != name && strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ext) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out) // the timestamp sorts as text
	return out
}

// readOne reads one log file, gunzipping it when it is compressed.
func readOne(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		return Read(zr)
	}
	return Read(br)
}

// Oldest and Newest are the earliest and latest request times in the log (zero when it
// is empty): what the log can speak for.
func Oldest(events []Event) time.Time { return bound(events, time.Time.Before) }

// Newest: see Oldest.
func Newest(events []Event) time.Time { return bound(events, time.Time.After) }

func bound(events []Event, better func(time.Time, time.Time) bool) time.Time {
	var out time.Time
	for _, e := range events {
		if !e.Received.IsZero() && (out.IsZero() || better(e.Received, out)) {
			out = e.Received
		}
	}
	return out
}

// Read parses audit events from r.
func Read(r io.Reader) ([]Event, error) {
	var events []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.AuditID != "" {
			events = append(events, e)
		}
	}
	return events, sc.Err()
}

// TokenIssue is a ServiceAccount token the apiserver issued bound to a pod: when, and
// for how long the requester asked (the kubelet asks for its projection's
// expirationSeconds).
type TokenIssue struct {
	PodUID            string
	At                time.Time
	ExpirationSeconds int64
}

// TokenIssues lists the successful TokenRequests bound to pods, in log order.
func TokenIssues(events []Event) []TokenIssue {
	var out []TokenIssue
	seen := map[string]bool{}
	for _, e := range events {
		if e.ObjectRef == nil || e.ObjectRef.Resource != "serviceaccounts" || e.ObjectRef.Subresource != "token" ||
			e.Code()/100 != 2 || len(e.RequestObject) == 0 || seen[e.AuditID] {
			continue
		}
		var tr struct {
			Spec struct {
				ExpirationSeconds *int64 `json:"expirationSeconds"`
				BoundObjectRef    *struct {
					Kind string `json:"kind"`
					UID  string `json:"uid"`
				} `json:"boundObjectRef"`
			} `json:"spec"`
		}
		if json.Unmarshal(e.RequestObject, &tr) != nil || tr.Spec.BoundObjectRef == nil || tr.Spec.BoundObjectRef.Kind != "Pod" || tr.Spec.ExpirationSeconds == nil {
			continue
		}
		seen[e.AuditID] = true
		out = append(out, TokenIssue{PodUID: tr.Spec.BoundObjectRef.UID, At: e.Received, ExpirationSeconds: *tr.Spec.ExpirationSeconds})
	}
	return out
}

// Lifetime is when a pod held its IP: from its start to its end (zero End: still running).
// Pod IPs are reused, so a 401 from the IP outside this span belongs to someone else.
type Lifetime struct {
	IP         string
	Start, End time.Time
}

// Holds reports whether the event came from the pod: its source IP, inside the lifetime.
func (l Lifetime) Holds(e Event) bool {
	if l.IP == "" || e.SourceIP() != l.IP || e.Received.Before(l.Start) {
		return false
	}
	return l.End.IsZero() || !e.Received.After(l.End)
}

// UnauthorizedFrom counts the 401 answers to the pod of this lifetime, each request once.
func UnauthorizedFrom(events []Event, l Lifetime) int {
	seen := map[string]bool{}
	n := 0
	for _, e := range events {
		if e.Code() != 401 || seen[e.AuditID] || !l.Holds(e) {
			continue
		}
		seen[e.AuditID] = true
		n++
	}
	return n
}

// Client is who sent a group of requests: the namespace, ServiceAccount and pod their
// token was bound to, with how many requests and when.
type Client struct {
	Namespace      string    `json:"namespace"`
	ServiceAccount string    `json:"serviceAccount"`
	Pod            string    `json:"pod"`
	PodUID         string    `json:"podUID,omitempty"`
	Requests       int       `json:"requests"`
	First          time.Time `json:"first"`
	Last           time.Time `json:"last"`
}

// perClient groups the requests keep selects (each once, whatever its stages) by client,
// in order of first appearance; add records what a group keeps beyond Client.
func perClient[T any](events []Event, keep func(Event) bool, client func(*T) *Client, add func(*T, Event)) []T {
	seen := map[string]bool{}
	index := map[string]int{}
	var out []T
	// First, Last and the switches are in time order whatever order the logs were given
	// in (rotated backups, several apiservers).
	events = slices.Clone(events)
	slices.SortStableFunc(events, func(a, b Event) int { return a.Received.Compare(b.Received) })
	for _, e := range events {
		if seen[e.AuditID] || !keep(e) {
			continue
		}
		seen[e.AuditID] = true
		ns, sa := splitServiceAccount(e.User.Username)
		// A pod is its UID: a pod of the same name recreated later is another client.
		key := ns + "/" + sa + "/" + e.PodName() + "/" + e.PodUID()
		i, ok := index[key]
		if !ok {
			i, index[key] = len(out), len(out)
			var g T
			*client(&g) = Client{Namespace: ns, ServiceAccount: sa, Pod: e.PodName(), PodUID: e.PodUID(), First: e.Received}
			out = append(out, g)
		}
		c := client(&out[i])
		c.Requests++
		c.Last = e.Received
		add(&out[i], e)
	}
	return out
}

// StaleUse is one client still using a token past its intended expiry, which only the
// apiserver's extension (the one-year grace period) keeps working.
type StaleUse struct {
	Client
	SourceIP   string `json:"sourceIP"`
	Annotation string `json:"annotation"` // the latest annotation text
}

// StaleTokens groups the requests annotated authentication.k8s.io/stale-token by the
// ServiceAccount and pod the token was bound to: the workloads that will break when the
// grace period ends.
func StaleTokens(events []Event) []StaleUse {
	out := perClient(events,
		func(e Event) bool { _, ok := e.Annotations[StaleTokenAnnotation]; return ok },
		func(u *StaleUse) *Client { return &u.Client },
		func(u *StaleUse, e Event) {
			if u.SourceIP == "" {
				u.SourceIP = e.SourceIP()
			}
			u.Annotation = e.Annotations[StaleTokenAnnotation]
		})
	if out == nil {
		out = []StaleUse{}
	}
	return out
}

// splitServiceAccount parses system:serviceaccount:<namespace>:<name>.
func splitServiceAccount(user string) (ns, name string) {
	parts := strings.Split(user, ":")
	if len(parts) == 4 && parts[0] == "system" && parts[1] == "serviceaccount" {
		return parts[2], parts[3]
	}
	return "", user
}

// BoundClient is a pod whose ServiceAccount token was bound to it (the kubelet's
// projected tokens), with how many token versions (credential IDs) it was seen using,
// when it first used each one after the first, and the addresses it called from.
type BoundClient struct {
	Client
	Credentials int         `json:"tokenVersions"` // distinct credential IDs (JTIs)
	SwitchedAt  []time.Time `json:"switchedAt,omitempty"`
	SourceIPs   []string    `json:"sourceIPs,omitempty"`
	credentials map[string]bool
}

// BoundClients lists, per namespace/ServiceAccount/pod, the clients that used pod-bound
// tokens. Only those can carry the stale-token annotation: a client seen with two token
// versions re-read its token; one seen with a single version has not shown either way.
func BoundClients(events []Event) []BoundClient {
	return perClient(events,
		func(e Event) bool { return e.PodName() != "" },
		func(c *BoundClient) *Client { return &c.Client },
		func(c *BoundClient, e Event) {
			if id := e.CredentialID(); id != "" && !c.credentials[id] {
				if c.credentials == nil {
					c.credentials = map[string]bool{}
				}
				c.credentials[id] = true
				c.Credentials++
				if c.Credentials > 1 {
					c.SwitchedAt = append(c.SwitchedAt, e.Received)
				}
			}
			if ip := e.SourceIP(); ip != "" && !slices.Contains(c.SourceIPs, ip) {
				c.SourceIPs = append(c.SourceIPs, ip)
			}
		})
}

// UnauthorizedFromAny counts the 401 answers to requests from any of ips, each once:
// refused clients leave no user in the log, only their address.
func UnauthorizedFromAny(events []Event, ips []string) int {
	seen := map[string]bool{}
	n := 0
	for _, e := range events {
		if e.Code() == 401 && !seen[e.AuditID] && slices.Contains(ips, e.SourceIP()) {
			seen[e.AuditID] = true
			n++
		}
	}
	return n
}
