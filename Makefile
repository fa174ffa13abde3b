# satoken-e2e. The two set-up commands of the README are `make run` and `make test`;
# both install and start what they need (Docker engine, node image, probe images).
SHELL := /bin/bash
GO    ?= go
OUT   ?= out
# e2e-framework label filter (the labels are listed in docs/tests.md): CI runs the fast
# reproduction, the add-on gates, the existing cluster and the faults, not the 70-min
# scenarios, the real add-on corpus, the extra faults nor the engine restart (make e2e-long,
# make e2e-corpus, make e2e-faults, make e2e-engine). Every run first proves its cluster fit
# (the smoke checks of the suite's env Setup).
E2E_ARGS ?= --skip-labels=scenario=long,scenario=corpus,scenario=engine,scenario=faults-extra

# Linters, run from the Go module proxy at pinned versions (no install step; go caches
# the builds).
ACTIONLINT    ?= $(GO) run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
GOLANGCI_LINT ?= $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

.PHONY: run test unit images e2e e2e-long satoken image apps lint lint-go lint-actions action-local clean

## run: the main job — a real reproduction across the probe matrix with a verdict table
run: satoken
	./bin/satoken run --out $(OUT)

## test: lint (fast), unit tests, the images the suite runs (built or found cached, outside
## any test timeout), then the e2e suite on a real cluster (its smoke checks, then the
## scenarios E2E_ARGS selects)
test: lint unit images e2e

## images: the offline node image and every probe image (cached by their inputs)
images: image apps

## unit: fast tests, no cluster
unit:
	$(GO) test ./...

e2e:
	$(GO) test -tags e2e -count=1 -timeout 30m -run 'TestGOPATHVendoredClientGo|TestScanRealGarbledBinaryNotJudged' ./internal/scan/predict
	$(GO) test -tags e2e -count=1 -timeout 30m -run 'TestAccelerated' ./internal/nodeimage
	$(GO) test -tags e2e -count=1 -timeout 30m -run 'TestDiskFullLeavesNothingTrusted|TestJSProbeImages' ./internal/probes
	$(GO) test -tags e2e -count=1 -timeout 10m -run 'TestContainerCommit' ./internal/docker
	$(GO) test -tags e2e -count=1 -timeout 10m -run 'TestDeleteInAnotherCreatesWindow' ./internal/cluster
	$(GO) test -tags e2e -v -count=1 -timeout 75m ./e2e -args $(E2E_ARGS)

## e2e-stock: the same suite on a stock control plane (10-minute tokens, ~20 min): the
## stock evidence behind the accelerated CI run
.PHONY: e2e-stock
e2e-stock:
	SATOKEN_E2E_STOCK=1 $(GO) test -tags e2e -v -count=1 -timeout 75m ./e2e -args $(E2E_ARGS)

## e2e-faults: every fault scenario (scenario=faults, in CI: the kube-apiserver killed
## before and during the tokens' refusal, a probe pod deleted, concurrent sessions; and
## scenario=faults-extra: the node container restarted, the audit log rotated during
## check) and 10 concurrent cluster create/delete cycles (CI: 2), ~35 min
.PHONY: e2e-faults
e2e-faults: images
	SATOKEN_E2E_CYCLES=10 $(GO) test -tags e2e -v -count=1 -timeout 60m ./e2e -run 'TestFaults' -args --labels=scenario=faults,scenario=faults-extra

## e2e-engine: the Docker engine restarted under a running reproduction (stops every
## cluster on this machine: run it alone), ~8 min
.PHONY: e2e-engine
e2e-engine: images
	$(GO) test -tags e2e -v -count=1 -timeout 30m ./e2e -run 'TestEngineRestart' -args --labels=scenario=engine

## e2e-long: the hour-long scenarios (automounted token capped to 1h; grace period), ~70 min,
## on clusters of their own (satoken-long, satoken-long-grace), so `make e2e` can run alongside
e2e-long:
	SATOKEN_E2E_STOCK=1 SATOKEN_E2E_CLUSTER=satoken-long $(GO) test -tags e2e -v -count=1 -timeout 100m ./e2e -run TestLong

## e2e-corpus: the real add-ons of fixtures/addons through satoken check, as they ship
## (built from their module source, their own manifests or chart), each on a cluster of its
## own, two side by side (~35 min); SATOKEN_CORPUS=name,... selects some
.PHONY: e2e-corpus
e2e-corpus: images
	$(GO) test -tags e2e -v -count=1 -timeout 120m ./e2e -run 'TestCorpus' -args --labels=scenario=corpus

## e2e-versions: the fast reproduction (scenario=fast, every assertion) on each Kubernetes
## version verified on this host (`satoken image versions`), one after another, each on a
## cluster of its own; ~17 min per version plus cold node image builds; not in CI
.PHONY: e2e-versions
e2e-versions: satoken
	set -e; for v in $$(./bin/satoken image versions); do \
	  SATOKEN_E2E_STOCK=1 SATOKEN_K8S=$$v SATOKEN_E2E_CLUSTER=satoken-e2e-$${v//./-} ARTIFACTS=$(CURDIR)/_artifacts/k8s-$$v \
	  $(GO) test -tags e2e -v -count=1 -timeout 75m ./e2e -args --labels=scenario=fast; \
	done

## cross-check: the probe matrix on a stock and an accelerated cluster of $(K8S) side by side
## (~20 min), then the comparison into fixtures/cross-check.json and docs/accelerated.md
## (exit 4, some probe not judged, still records the comparison)
K8S ?= v1.34.4
.PHONY: cross-check
cross-check: satoken
	./bin/satoken run --fast --cross-check --k8s $(K8S) --out $(OUT)/cross-check-$(K8S) || [ $$? -eq 4 ]
	./bin/satoken crosscheck --from $(OUT)/cross-check-$(K8S)/report.json --table fixtures/cross-check.json --readme docs/accelerated.md

## k8s-matrix: the probe matrix on every verified version, one report ($(OUT)/k8s-matrix);
## `make verdict-table OUT=$(OUT)/k8s-matrix` then adds it to the table
.PHONY: k8s-matrix
k8s-matrix: satoken
	./bin/satoken run --k8s all --out $(OUT)/k8s-matrix

satoken:
	$(GO) build -o bin/satoken ./cmd/satoken

## image: the offline kind node image
image: satoken
	./bin/satoken image build

## apps: every probe image
apps: satoken
	./bin/satoken apps build

## lint: gofmt, go vet, golangci-lint (.golangci.yml), actionlint on action.yml and the
## example workflows
lint: lint-go lint-actions

lint-go:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt -w needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e
	$(GOLANGCI_LINT) run ./...

## lint-actions: actionlint reads an action.yml only through a workflow using it and does
## not check a composite action's steps, so action-local writes a repository where the
## steps are a workflow of their own (internal/action.LintProject)
lint-actions:
	d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	$(GO) run ./cmd/action-local -lint-project "$$d" && \
	$(ACTIONLINT) "$$d"/.github/workflows/*.yml scripts/github-actions/*.yml

## action-local: action.yml's run steps here, in order, as GitHub's runner would run them,
## e.g. make action-local WORKDIR=../my-addon INPUTS="manifests=deploy images=my-addon:dev node-image=build"
## (reports in WORKDIR/satoken-report, artifacts and summary.md in WORKDIR/action-local)
WORKDIR ?= .
action-local:
	$(GO) run ./cmd/action-local -action $(CURDIR)/action.yml -workdir $(WORKDIR) $(INPUTS)

clean:
	rm -rf bin out _artifacts

## verdict-table: add a matrix run's report ($(OUT)/report.json) to the table `satoken scan` predicts from
.PHONY: verdict-table
verdict-table: satoken
	./bin/satoken scan table --merge fixtures/verdict-table.json --from $(OUT)/report.json --write fixtures/verdict-table.json --readme README.md

## scan-fingerprints: regenerate the function-name fingerprints `satoken scan` places binaries
## without module info by (GOPATH/vendor builds), from the probe images (built first if needed)
.PHONY: scan-fingerprints
scan-fingerprints: satoken
	images=$$(./bin/satoken apps build --versions go) && \
	./bin/satoken scan fingerprints $$(printf -- '--from %s ' $$images) --write fixtures/scan/fingerprints.json
