# minipilot: two commands do everything on a fresh machine.
#   make run   — build pilot-discovery and serve examples/bookinfo on :15010 (xDS) and 127.0.0.1:15014 (debug)
#   make test  — lint, then every test (race detector on), building the real kube-apiserver, etcd and
#                kubectl the integration tests need into bin/ the first time (a few minutes, cached after),
#                and installing gRPC's C core (Debian's python3-grpcio) and gRPC's Node.js (@grpc/grpc-js-xds,
#                from npm) for the e2e tests' other real gRPC clients

GO        ?= go
BIN       := bin
PILOT     := $(BIN)/pilot-discovery
CONFIG    ?= examples/bookinfo
TEST_TIMEOUT ?= 20m
PKGS      := ./...

.DEFAULT_GOAL := all

include Makefile.kube
include Makefile.codegen
include Makefile.istio
include Makefile.grpccore
include Makefile.grpcjs

.PHONY: all build run test lint fmt vet staticcheck fuzz bench load clean

all: build

build:
	$(GO) build -o $(PILOT) ./pilot/cmd/pilot-discovery

run: build
	$(PILOT) --config-dir $(CONFIG)

# test runs everything CI runs. The kube binaries are real, built from the Go module proxy; the CRD
# tests regenerate the manifests with controller-gen to prove they are up to date; gRPC's C core comes
# from Debian's apt (grpc-core), grpc-js from npm (grpc-js). The end-to-end tests build pilot-discovery themselves, which the test
# cache cannot see: they always run (-count=1), so that a broken binary can never pass as "(cached)".
E2E_PKGS := ./pilot/e2e/...
test: lint kube-bins codegen-bins grpc-core grpc-js
	$(GO) test -race -timeout $(TEST_TIMEOUT) $$($(GO) list $(PKGS) | grep -v /pilot/e2e)
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(E2E_PKGS)
	$(MAKE) --no-print-directory fuzz

# fuzz runs each fuzz target for FUZZTIME (a short run in make test; `make fuzz FUZZTIME=10m` for a
# long one). Their committed corpora (testdata/fuzz) also run as plain tests in every go test.
FUZZ_TARGETS := ./adapters/file:FuzzParseFile ./crds/validation:FuzzValidate ./adapters/k8s:FuzzObjectsPart ./xds/translate:FuzzTranslate \
                ./xds/auth:FuzzAuthorize
FUZZTIME     ?= 15s
fuzz:
	@for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; fn=$${target##*:}; \
		echo "fuzzing $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x $$pkg || exit 1; \
	done

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
