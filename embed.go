// Package satoken holds the files the satoken command reads at run time, embedded so that
// a binary from `go install github.com/satoken-e2e/satoken-e2e/cmd/satoken@<version>`
// works in any directory: the fixtures (add-on corpus included), the probes' and the canary's
// sources and per-version module (Go)
// and npm (JavaScript) files, and the runc wrapper's source. internal/bundle unpacks
// them; use that, not this.
package satoken

import "embed"

// Files is the embedded tree, with paths as in the repository. Test files are included
// by the patterns but never unpacked.
//
//go:embed fixtures
//go:embed apps/probe/versions.json apps/probe/versions/*/probe.mod apps/probe/versions/*/probe.sum
//go:embed apps/probe/*.go apps/probe/*/*.go
//go:embed apps/probe-js/versions.json apps/probe-js/versions/*/package.json apps/probe-js/versions/*/package-lock.json
//go:embed apps/probe-js/*.js apps/probe-js/lib/*.js apps/probe-js/adapters/*.js
//go:embed apps/canary/*.go
//go:embed cmd/runc-nosysresource/*.go
var Files embed.FS
