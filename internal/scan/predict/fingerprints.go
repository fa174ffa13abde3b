package predict

import (
	"cmp"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"

	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
)

// FingerprintSchemaVersion is bumped on incompatible changes to the fingerprint file.
const FingerprintSchemaVersion = 1

// Fingerprints says which client-go versions of the probe matrix declare each function of
// find.FingerprintPackages that an in-cluster client links (the names the probes linked).
type Fingerprints struct {
	SchemaVersion int      `json:"schemaVersion"`
	Packages      []string `json:"packages"`
	// Versions in release order; Functions lists their labels in that order.
	Versions []FingerprintVersion `json:"versions"`
	// Functions maps "pkg.F" or "pkg.T.M" (see find.FuncKey) to the versions whose source
	// declares it. A binary's absence of a function proves nothing (the linker drops what a
	// program does not call), so presence is read from each version's source, and only
	// names some probe actually linked are kept: those are what in-cluster clients link.
	Functions map[string][]string `json:"functions"`
}

// FingerprintVersion is one probe binary the names were read from.
type FingerprintVersion struct {
	Label  string `json:"label"`
	Module string `json:"module"` // the client-go module version its build info lists
	From   string `json:"from"`   // the image or file it was read from
	Linked int    `json:"linked"` // fingerprinted functions that binary links
}

// FingerprintSource is a probe binary to take fingerprints from.
type FingerprintSource struct {
	Label, From string
	Finding     find.Finding // must know its client-go module from the build info
}

// DeclaredFuncs returns the keys (see find.FuncKey) of the functions and methods declared in
// the given packages of a client-go version; SourceDecls reads them from the module cache.
type DeclaredFuncs func(ctx context.Context, module string, pkgs []string) (map[string]bool, error)

// BuildFingerprints makes the fingerprint file from probe binaries, one per version.
func BuildFingerprints(ctx context.Context, sources []FingerprintSource, declared DeclaredFuncs) (Fingerprints, error) {
	fp := Fingerprints{SchemaVersion: FingerprintSchemaVersion, Packages: find.FingerprintPackages, Functions: map[string][]string{}}
	linked := map[string]map[string]bool{} // label → keys its binary links
	for _, s := range sources {
		f := s.Finding
		if f.ClientGoBy != find.FromBuildInfo || f.ClientGoVersion() == "" {
			return fp, fmt.Errorf("%s: no client-go version in its build info: fingerprints need probe binaries", s.From)
		}
		if linked[s.Label] != nil {
			return fp, fmt.Errorf("%s: version %s given twice", s.From, s.Label)
		}
		keys := map[string]bool{}
		for _, n := range f.Funcs {
			if pkg, key, ok := find.FuncKey(n); ok && slices.Contains(find.FingerprintPackages, pkg) {
				keys[key] = true
			}
		}
		linked[s.Label] = keys
		fp.Versions = append(fp.Versions, FingerprintVersion{Label: s.Label, Module: f.ClientGoVersion(), From: s.From, Linked: len(keys)})
	}
	if len(fp.Versions) == 0 {
		return fp, fmt.Errorf("no probe binary given")
	}
	slices.SortStableFunc(fp.Versions, func(a, b FingerprintVersion) int {
		ra, _ := entryRelease(table.Entry{Label: a.Label, Module: a.Module})
		rb, _ := entryRelease(table.Entry{Label: b.Label, Module: b.Module})
		return cmp.Compare(ra.Key(), rb.Key())
	})
	decls := map[string]map[string]bool{}
	for _, v := range fp.Versions {
		d, err := declared(ctx, v.Module, find.FingerprintPackages)
		if err != nil {
			return fp, fmt.Errorf("source of client-go %s: %w", v.Module, err)
		}
		decls[v.Label] = d
	}
	for _, v := range fp.Versions {
		for key := range linked[v.Label] {
			// Linked but not declared: a wrapper the compiler made (e.g. a method promoted
			// from an embedded field), which depends on struct layout, not on the API.
			if !decls[v.Label][key] || fp.Functions[key] != nil {
				continue
			}
			labels := []string{}
			for _, w := range fp.Versions {
				if decls[w.Label][key] {
					labels = append(labels, w.Label)
				}
			}
			fp.Functions[key] = labels
		}
	}
	return fp, nil
}

// SourceDecls reads the declarations of a client-go version from the module cache
// (downloading it through the module proxy if needed).
func SourceDecls(ctx context.Context, module string, pkgs []string) (map[string]bool, error) {
	info, err := gocmd.Download(ctx, gocmd.Outside(), find.ClientGoPath, module)
	if err != nil {
		return nil, err
	}
	if info.Dir == "" {
		return nil, fmt.Errorf("go mod download %s@%s: no directory", find.ClientGoPath, module)
	}
	return declsIn(info.Dir, pkgs)
}

// declsIn parses the non-test Go files of each package under a client-go module root. Build
// constraints are ignored: a function declared for any platform counts as declared, so a
// version is never ruled out for lack of it.
func declsIn(moduleDir string, pkgs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, pkg := range pkgs {
		dir := filepath.Join(moduleDir, filepath.FromSlash(strings.TrimPrefix(pkg, find.ClientGoPath+"/")))
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			continue // the package does not exist in this version
		}
		fset := token.NewFileSet()
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok {
					continue
				}
				name := fn.Name.Name
				if fn.Recv != nil && len(fn.Recv.List) == 1 {
					name = recvType(fn.Recv.List[0].Type) + "." + name
				}
				out[pkg+"."+name] = true
			}
		}
	}
	return out, nil
}

// recvType is the type name of a receiver: T for T, *T, T[K] and *T[K, V].
func recvType(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

// LoadFingerprints reads a fingerprint file.
func LoadFingerprints(path string) (Fingerprints, error) {
	return table.LoadChecked(path, FingerprintSchemaVersion, func(fp Fingerprints) int { return fp.SchemaVersion })
}

// Write stores the fingerprints as indented JSON (checked in; keys sorted, so diffs stay small).
func (fp Fingerprints) Write(path string) error { return table.WriteChecked(path, fp) }

// Match returns the versions that declare every fingerprinted function among funcs (client-go
// names, vendor prefix cut) and how many such functions there were. Names that are not
// fingerprinted are ignored: a program may link code no probe links.
func (fp Fingerprints) Match(funcs []string) (candidates []FingerprintVersion, evidence int) {
	in := map[string]int{} // label → fingerprinted functions of funcs it declares
	seen := map[string]bool{}
	for _, n := range funcs {
		_, key, ok := find.FuncKey(n)
		labels, known := fp.Functions[key]
		if !ok || !known || seen[key] { // "(*T).M" and "T.M" are one declaration
			continue
		}
		seen[key] = true
		evidence++
		for _, l := range labels {
			in[l]++
		}
	}
	if evidence == 0 {
		return nil, 0
	}
	for _, v := range fp.Versions {
		if in[v.Label] == evidence {
			candidates = append(candidates, v)
		}
	}
	return candidates, evidence
}
