# minipilot: two commands do everything on a fresh machine.
#   make run   — build pilot-discovery and serve examples/bookinfo on :15010 (xDS) and 127.0.0.1:15014 (debug)
#   make test  — lint, then every test (race detector on), building the real kube-apiserver, etcd and
#                kubectl the integration tests need into bin/ the first time (a few minutes, cached after)

GO        ?= go
BIN       := bin
PILOT     := $(BIN)/pilot-discovery
CONFIG    ?= examples/bookinfo
TEST_TIMEOUT ?= 20m
PKGS      := ./...

.DEFAULT_GOAL := all

include Makefile.kube
include Makefile.codegen

.PHONY: all build run test lint fmt vet staticcheck bench load clean

all: build

build:
	$(GO) build -o $(PILOT) ./pilot/cmd/pilot-discovery

run: build
	$(PILOT) --config-dir $(CONFIG)

# test runs everything CI runs. The kube binaries are real, built from the Go module proxy; the CRD
# tests regenerate the manifests with controller-gen to prove they are up to date.
test: lint kube-bins codegen-bins
	$(GO) test -race -timeout $(TEST_TIMEOUT) $(PKGS)

lint: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

$(BIN)/staticcheck: tools/lint/go.mod
	@mkdir -p $(BIN)
	cd tools/lint && GOWORK=off GOFLAGS=-mod=readonly $(GO) build -o $(abspath $@) honnef.co/go/tools/cmd/staticcheck

staticcheck: $(BIN)/staticcheck
	$(BIN)/staticcheck $(PKGS)

# bench reports the translation and push benchmarks (see docs/benchmarks.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./xds/...

clean:
	rm -f $(PILOT) $(BIN)/staticcheck
