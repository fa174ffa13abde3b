// Command runc-nosysresource is a runc wrapper for hosts whose capability bounding set lacks
// CAP_SYS_RESOURCE (some sandboxes). Privileged containers ask for every capability and runc
// then fails with "unable to apply caps: operation not permitted"; this wrapper drops the one
// capability the host cannot grant from the OCI spec (create/run) or process file (exec) and
// hands over to the real runc. It is installed only where the capability is really missing.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const dropped = "CAP_SYS_RESOURCE"

var realRuncCandidates = []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc"}

func main() {
	args := os.Args[1:]
	if bundle, ok := flagValue(args, "--bundle", "-b"); ok {
		if err := edit(filepath.Join(bundle, "config.json"), "process", "capabilities"); err != nil {
			fail(err)
		}
	} else if isCommand(args, "create", "run") {
		// runc defaults the bundle to the working directory.
		if err := edit("config.json", "process", "capabilities"); err != nil && !os.IsNotExist(err) {
			fail(err)
		}
	}
	if process, ok := flagValue(args, "--process", "-p"); ok && isCommand(args, "exec") {
		if err := edit(process, "capabilities"); err != nil {
			fail(err)
		}
	}
	runc, err := realRunc()
	if err != nil {
		fail(err)
	}
	fail(syscall.Exec(runc, append([]string{runc}, args...), os.Environ()))
}

// flagValue finds "--name value", "--name=value" or "-n value" in args.
func flagValue(args []string, long, short string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, long+"="); ok {
			return v, true
		}
		if (a == long || a == short) && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

func isCommand(args []string, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if a == n {
				return true
			}
		}
	}
	return false
}

// edit removes the dropped capability from every capability set found at path inside the
// JSON document, keeping all other fields untouched.
func edit(file string, path ...string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	node := doc
	for _, key := range path {
		next, ok := node[key].(map[string]any)
		if !ok {
			return nil // nothing to edit: no capabilities requested
		}
		node = next
	}
	changed := false
	for set, v := range node {
		caps, ok := v.([]any)
		if !ok {
			continue
		}
		kept := caps[:0]
		for _, c := range caps {
			if c != dropped {
				kept = append(kept, c)
			}
		}
		changed = changed || len(kept) != len(caps)
		node[set] = kept
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(file, out, 0o600)
}

func realRunc() (string, error) {
	self, _ := os.Executable()
	for _, c := range realRuncCandidates {
		if c != self {
			if _, err := os.Stat(c); err == nil {
				return c, nil
			}
		}
	}
	return "", fmt.Errorf("runc-nosysresource: no runc found in %v", realRuncCandidates)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "runc-nosysresource:", err)
	os.Exit(1)
}
