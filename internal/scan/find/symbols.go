package find

import (
	"debug/elf"
	"debug/gosym"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// How a finding's client-go was identified.
const (
	FromBuildInfo = "buildinfo" // the module list Go records in the binary
	FromSymbols   = "symbols"   // function names in the pclntab: GOPATH/vendor builds have no module list
)

const clientGoPrefix = ClientGoPath + "/"

// FingerprintPackages are the client-go packages whose functions recognise client-go in a
// binary and place its version. Every in-cluster client goes through them whatever else
// the linker dropped: rest holds InClusterConfig (which reads the token file) and the REST
// client every typed clientset and informer is built on; transport builds the round
// trippers that attach the bearer token and, from Kubernetes 1.12 on, re-read the token
// file. They are also where the releases that reload the token differ from those that do
// not, so their names follow the behaviour being predicted. Packages a client may or may
// not link (informers, leader election, discovery) would only tell what the program uses,
// not which version it has.
var FingerprintPackages = []string{ClientGoPath + "/rest", ClientGoPath + "/transport"}

// errNoPclntab: an ELF file without a .gopclntab section (not Go, or its section headers
// were stripped by a tool other than the Go linker).
var errNoPclntab = errors.New("no .gopclntab section")

// funcNames reads every function name of an ELF Go binary from its pclntab. The runtime
// needs this table for stack traces and the garbage collector, so the linker keeps it
// even with -ldflags=-s -w (which drop .symtab and DWARF). debug/gosym reads the Go 1.2,
// 1.16, 1.18 and 1.20+ layouts; Go 1.26 still writes the 1.20 one.
func funcNames(r io.ReaderAt) (names []string, err error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sec := f.Section(".gopclntab")
	if sec == nil {
		return nil, errNoPclntab
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf(".gopclntab: %w", err)
	}
	// Function names do not depend on addresses; .text is what the Go tools pass for
	// layouts that need a text start.
	var text uint64
	if t := f.Section(".text"); t != nil {
		text = t.Addr
	}
	defer func() { // a corrupt table must be an error, not a crash of the whole scan
		if p := recover(); p != nil {
			names, err = nil, fmt.Errorf(".gopclntab: malformed: %v", p)
		}
	}()
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		return nil, fmt.Errorf(".gopclntab: %w", err)
	}
	if len(tab.Funcs) == 0 {
		return nil, errors.New(".gopclntab: no functions (unknown layout)")
	}
	names = make([]string, len(tab.Funcs))
	for i, fn := range tab.Funcs {
		names[i] = fn.Name
	}
	return names, nil
}

// clientGoFuncs keeps the names of client-go functions, normalized to its import path, and
// the package roots they were found under (see clientGoName). A root counts only when
// functions of its rest or transport package are among them: every in-cluster client
// links those, and libraries merely named client-go (OpenShift's, Istio's generated
// clients) have neither.
func clientGoFuncs(names []string) (funcs, roots []string) {
	byRoot := map[string][]string{}
	for _, n := range names {
		if norm, root, ok := clientGoName(n); ok {
			byRoot[root] = append(byRoot[root], norm)
		}
	}
	for root, fs := range byRoot {
		if !slices.ContainsFunc(fs, func(f string) bool {
			pkg, _, ok := FuncKey(f)
			return ok && slices.Contains(FingerprintPackages, pkg)
		}) {
			continue
		}
		funcs = append(funcs, fs...)
		roots = append(roots, root)
	}
	slices.Sort(funcs)
	slices.Sort(roots)
	return slices.Compact(funcs), roots
}

const clientGoElem = "client-go/"

// clientGoName recognizes a client-go function name by the end of its package root: the
// root is k8s.io/client-go itself, a GOPATH vendor copy ("<importer>/vendor/k8s.io/client-go",
// "vendor/k8s.io/client-go" for GOPATH/src/vendor), a copy under another directory
// ("<importer>/third_party/k8s.io/client-go"), or any other path whose last element is
// client-go (a fork imported by its own module path: see forkOf). It returns the name
// under client-go's import path and the root.
func clientGoName(name string) (norm, root string, ok bool) {
	i := strings.Index(name, clientGoElem)
	if i < 0 || (i > 0 && name[i-1] != '/') {
		return "", "", false
	}
	root = name[:i+len(clientGoElem)-1]
	// The root must be a package path, not part of a symbol that merely mentions a
	// client-go type: the type arguments of "pkg.F[a/vendor/k8s.io/client-go/…]", or the
	// equality and hash functions "type:.eq.k8s.io/…" ("type..eq." before Go 1.20).
	if strings.ContainsAny(root, "[]()*,: ") || strings.HasPrefix(root, "type..") {
		return "", "", false
	}
	return clientGoPrefix + name[i+len(clientGoElem):], root, true
}

// FuncKey maps a pclntab name to the declaration it was compiled from: "pkg.F" or
// "pkg.T.M" (pointer receivers and type arguments dropped, so both "(*T).M" and "T.M"
// read "T.M"). ok is false for what the compiler makes up — closures (F.func1), method
// values (-fm), defer/go wrappers, init, equality functions: their names depend on the
// Go version that built the binary, so they cannot tell client-go versions apart.
func FuncKey(name string) (pkg, key string, ok bool) {
	name = dropTypeArgs(name)
	slash := strings.LastIndex(name, "/")
	dot := strings.Index(name[slash+1:], ".")
	if slash < 0 || dot < 0 {
		return "", "", false
	}
	pkg, sym := name[:slash+1+dot], name[slash+2+dot:]
	if strings.HasPrefix(sym, "(*") {
		t, m, found := strings.Cut(sym[2:], ").")
		if !found {
			return "", "", false
		}
		sym = t + "." + m
	}
	parts := strings.Split(sym, ".")
	if len(parts) > 2 || (len(parts) == 1 && parts[0] == "init") || (len(parts) == 2 && closure.MatchString(parts[1])) {
		return "", "", false
	}
	for _, p := range parts {
		if !isIdent(p) {
			return "", "", false
		}
	}
	return pkg, pkg + "." + sym, true
}

// closure matches the second element of the names of closures and wrappers inside a
// function F: F.func1, F.deferwrap1, F.gowrap1.
var closure = regexp.MustCompile(`^(func|deferwrap|gowrap)[0-9]+$`)

// dropTypeArgs removes bracketed type arguments ("F[...]", "(*T[go.shape.int]).M").
func dropTypeArgs(s string) string {
	if !strings.Contains(s, "[") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" || s == "_" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || r > 0x7f
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
