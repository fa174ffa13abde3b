package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// fakeAPI is just enough of an apiserver for the informer and the Lease lock, with a
// switch that answers every request 401, as after the token expired.
type fakeAPI struct {
	t            *testing.T
	ns           string
	stop         chan struct{} // ends open watches
	mu           sync.Mutex
	lease        []byte // the Lease as last created or updated, echoed as sent
	leaseType    string // its content type (newer clientsets send protobuf)
	unauthorized bool
}

const podJSON = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"addon-1","namespace":"%s","resourceVersion":"%s"}}`

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	deny := f.unauthorized
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	status := func(code int, reason string) {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":%q,"reason":%q,"code":%d}`, reason, reason, code)
	}
	q := r.URL.Query()
	pods := "/api/v1/namespaces/" + f.ns + "/pods"
	leases := "/apis/coordination.k8s.io/v1/namespaces/" + f.ns + "/leases"
	switch {
	case deny:
		status(http.StatusUnauthorized, "Unauthorized")
	case r.URL.Path == pods && q.Get("watch") != "true" && q.Get("watch") != "1":
		fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[`+podJSON+`]}`, f.ns, "1")
	case r.URL.Path == pods:
		w.WriteHeader(http.StatusOK)
		if q.Get("sendInitialEvents") == "true" { // a streaming list: the items, then the end bookmark
			fmt.Fprintf(w, `{"type":"ADDED","object":`+podJSON+"}\n", f.ns, "1")
			fmt.Fprint(w, `{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"1","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n")
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-f.stop:
		}
	case r.URL.Path == leases+"/probe" && r.Method == http.MethodGet:
		f.mu.Lock()
		lease, ct := f.lease, f.leaseType
		f.mu.Unlock()
		if lease == nil {
			status(http.StatusNotFound, "NotFound")
			return
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(lease)
	case (r.URL.Path == leases && r.Method == http.MethodPost) || (r.URL.Path == leases+"/probe" && r.Method == http.MethodPut):
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.lease, f.leaseType = b, r.Header.Get("Content-Type")
		f.mu.Unlock()
		w.Header().Set("Content-Type", f.leaseType)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write(b)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		status(http.StatusNotFound, "NotFound")
	}
}

func (f *fakeAPI) deny() {
	f.mu.Lock()
	f.unauthorized = true
	f.mu.Unlock()
}

// lines collects what a mode emits, from any goroutine.
type lines struct {
	mu  sync.Mutex
	all []probelog.Line
}

func (l *lines) emit(x probelog.Line) {
	x.Time = time.Now()
	l.mu.Lock()
	l.all = append(l.all, x)
	l.mu.Unlock()
}

func (l *lines) snapshot() []probelog.Line {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]probelog.Line(nil), l.all...)
}

// waitFor polls until cond holds for the lines so far, or fails after timeout.
func (l *lines) waitFor(t *testing.T, timeout time.Duration, what string, cond func([]probelog.Line) bool) []probelog.Line {
	t.Helper()
	for end := time.Now().Add(timeout); ; {
		got := l.snapshot()
		if cond(got) {
			return got
		}
		if time.Now().After(end) {
			t.Fatalf("no %s within %v; lines:\n%s", what, timeout, describe(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(ls []probelog.Line) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "  %s %s %s %s %s %s %s\n", l.Time.Format("15:04:05.000"), l.Kind, l.Method, l.Path, l.Outcome, l.Event, l.Identity)
	}
	return b.String()
}

// clientFor returns a clientset for the fake apiserver whose HTTP requests become call
// lines, as main sets it up in modes watch and lease.
func clientFor(t *testing.T, f *fakeAPI, out *lines) kubernetes.Interface {
	srv := httptest.NewServer(f)
	t.Cleanup(func() { close(f.stop); srv.Close() })
	obs := &observer{perRequest: out.emit}
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, BearerToken: jwt(`{"exp":2000000000}`), WrapTransport: obs.wrap})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func isWatch(l probelog.Line) bool {
	return l.Kind == probelog.KindCall && strings.Contains(l.Path, "watch=")
}

func TestWatchMode(t *testing.T) {
	f := &fakeAPI{t: t, ns: "addon-watch", stop: make(chan struct{})}
	out := &lines{}
	go runWatch(clientFor(t, f, out), f.ns, out.emit) // never returns

	got := out.waitFor(t, 10*time.Second, "watch and add event", func(ls []probelog.Line) bool {
		var watching, added bool
		for _, l := range ls {
			watching = watching || (isWatch(l) && l.Outcome == probelog.OutcomeOK)
			added = added || (l.Kind == probelog.KindEvent && l.Event == "add" && l.Object == f.ns+"/addon-1")
		}
		return watching && added
	})
	for _, l := range got {
		if l.Kind == probelog.KindCall && (l.Method != http.MethodGet || !strings.HasPrefix(l.Path, "/api/v1/namespaces/"+f.ns+"/pods")) {
			t.Errorf("a watch-only add-on made %s %s", l.Method, l.Path)
		}
	}

	// While the watch is open, nothing else is called.
	n := len(got)
	time.Sleep(500 * time.Millisecond)
	if later := out.snapshot(); len(later) != n {
		t.Fatalf("calls while watching:\n%s", describe(later[n:]))
	}

	// A 401 does not end it: the reflector keeps retrying.
	f.deny()
	f.stop <- struct{}{} // ends the open watch
	out.waitFor(t, 10*time.Second, "retries after 401", func(ls []probelog.Line) bool {
		unauthorized := 0
		for _, l := range ls[n:] {
			if l.Outcome == probelog.OutcomeUnauthorized {
				unauthorized++
			}
		}
		return unauthorized >= 2
	})
	t.Logf("lines:\n%s", describe(out.snapshot()))
}
