// Command canary proves, from inside a workload's network position, that a request with a
// bad token reaches the apiserver's audit log where satoken check looks for it: it sends
// --requests GETs of /api with a bearer token that is not a token and the User-Agent
// satoken-canary/<--id>, and writes one JSON line per answer. It exits 0 whatever the
// answers (a 401 is what it is for); it never holds a real token (the pod mounts none).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// UserAgentPrefix begins the canary's User-Agent; satoken check finds its requests by it.
const UserAgentPrefix = "satoken-canary/"

// badToken is sent as the bearer token: not a JWT, refused by every authenticator.
const badToken = "satoken-canary-not-a-token"

type line struct {
	Time   time.Time `json:"time"`
	Status int       `json:"status,omitempty"`
	Error  string    `json:"error,omitempty"`
}

func main() {
	id := flag.String("id", "", "canary id, sent in the User-Agent")
	requests := flag.Int("requests", 5, "how many requests to send")
	ca := flag.String("ca", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", "the cluster's CA bundle")
	flag.Parse()
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if *id == "" || host == "" || port == "" {
		fmt.Fprintln(os.Stderr, "canary: --id and the in-cluster KUBERNETES_SERVICE_HOST/PORT are required")
		os.Exit(2)
	}
	pem, err := os.ReadFile(*ca)
	if err != nil {
		fmt.Fprintf(os.Stderr, "canary: %v\n", err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	url := "https://" + net.JoinHostPort(host, port) + "/api"
	out := json.NewEncoder(os.Stdout)
	for i := 0; i < *requests; i++ {
		l := line{Time: time.Now().UTC()}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+badToken)
		req.Header.Set("User-Agent", UserAgentPrefix+*id)
		resp, err := client.Do(req)
		if err != nil {
			l.Error = err.Error()
		} else {
			l.Status = resp.StatusCode
			resp.Body.Close()
		}
		_ = out.Encode(l)
		time.Sleep(200 * time.Millisecond)
	}
}
