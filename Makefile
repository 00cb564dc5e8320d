# minipilot: two commands do everything on a fresh machine (`make help` lists the rest).
#   make run   — build pilot-discovery and serve examples/bookinfo on :15010 (xDS) and 127.0.0.1:15014 (debug)
#   make test  — lint, then every test (race detector on), building the real kube-apiserver, etcd,
#                kubectl and istioctl the integration tests need into bin/ the first time (a few
#                minutes, cached after), and installing gRPC's C core (Debian's python3-grpcio) and
#                gRPC's Node.js (@grpc/grpc-js-xds, from npm) for the e2e tests' other real gRPC clients

GO        ?= go
BIN       := bin
PILOT     := $(BIN)/pilot-discovery
PILOTCTL  := $(BIN)/pilotctl
# The version both binaries report (--version, istio_build, istioctl's VERSION column).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/minipilot/minipilot/pilot.version=$(VERSION)
CONFIG    ?= examples/bookinfo
TEST_TIMEOUT ?= 20m
PKGS      := ./...

.DEFAULT_GOAL := all

include Makefile.kube
include Makefile.codegen
include Makefile.istio
include Makefile.grpccore
include Makefile.image
include Makefile.grpcjs

.PHONY: all build run test test-tools lint fmt vet staticcheck fuzz bench load clean help

all: build

## build: bin/pilot-discovery and bin/pilotctl
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(PILOT) ./pilot/cmd/pilot-discovery
	$(GO) build -ldflags '$(LDFLAGS)' -o $(PILOTCTL) ./pilot/cmd/pilotctl

## help: this list
help:
	@echo "make targets:"
	@sed -n 's/^## \([^:]*\): /  \1\t/p' $(MAKEFILE_LIST) | expand -t 22
	@echo "variables: GO, CONFIG (make run), TEST_TIMEOUT, FUZZTIME, VERSION, MINIPILOT_BIN_DIR (tests' tool dir),"
	@echo "  MINIPILOT_ALLOW_SKIP_KUBE/_NETNS/_GRPC_CORE/_IMAGE=1 (skip those tests), MINIPILOT_REQUIRE_ISTIO=1"

## run: serve examples/bookinfo (CONFIG=dir for another)
run: build
	$(PILOT) --config-dir $(CONFIG)

# test runs everything CI runs. The kube binaries are real, built from the Go module proxy; the CRD
# tests regenerate the manifests with controller-gen to prove they are up to date; gRPC's C core comes
# from Debian's apt (grpc-core), grpc-js from npm (grpc-js). The end-to-end tests build pilot-discovery themselves, which the test
# cache cannot see: they always run (-count=1), so that a broken binary can never pass as "(cached)".
# The tools are built first, in parallel with each other and with lint (each is a separate module
# build that says what it builds and why); only the tests wait for them.
E2E_PKGS := ./pilot/e2e/...
## test: lint, every test with -race, a short fuzz run (builds the test tools into bin/ once)
test:
	@$(MAKE) --no-print-directory -j4 --output-sync=target lint test-tools
	$(GO) test -race -timeout $(TEST_TIMEOUT) $$($(GO) list $(PKGS) | grep -v /pilot/e2e)
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(E2E_PKGS)
	$(MAKE) --no-print-directory fuzz

# fuzz runs each fuzz target for FUZZTIME (a short run in make test; `make fuzz FUZZTIME=10m` for a
# long one). Their committed corpora (testdata/fuzz) also run as plain tests in every go test.
FUZZ_TARGETS := ./adapters/file:FuzzParseFile ./crds/validation:FuzzValidate ./adapters/k8s:FuzzObjectsPart ./xds/translate:FuzzTranslate \
                ./xds/auth:FuzzAuthorize ./xds/server:FuzzDecodeRequest
FUZZTIME     ?= 15s
## fuzz: the fuzz targets, FUZZTIME each (15s)
fuzz:
	@for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; fn=$${target##*:}; \
		echo "fuzzing $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x $$pkg || exit 1; \
	done

test-tools: kube-bins codegen-bins grpc-core grpc-js $(ISTIO_BIN_DIR)/istioctl image-tools

## lint: gofmt, go vet, staticcheck
lint: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

$(BIN)/staticcheck: tools/lint/go.mod
	@mkdir -p $(BIN)
	$(call tool_why,$@,the linter of make lint)
	cd tools/lint && GOWORK=off GOFLAGS=-mod=readonly $(GO) build -o $(abspath $@) honnef.co/go/tools/cmd/staticcheck

staticcheck: $(BIN)/staticcheck
	$(BIN)/staticcheck $(PKGS)

# bench reports the translation and push benchmarks (see docs/benchmarks.md).
## bench: the translation and push benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./xds/...

# load runs the load tool against a real pilot-discovery on a generated mesh: LOAD_MESH and LOAD_FLEET
# are xds-load's flags (docs/benchmarks.md has the larger runs).
LOAD_MESH  ?= --services 200 --endpoints 10 --rules one
LOAD_FLEET ?= --proxies 200 --label-sets 50 --scenario endpoint-flap,vs-edit --changes 3
LOAD_DIR   ?= /tmp/minipilot-load-mesh
## load: xds-load's sidecars against pilot-discovery on a 200-service mesh (LOAD_MESH, LOAD_FLEET)
load: build
	$(GO) build -o $(BIN)/xds-load ./pilot/cmd/xds-load
	rm -rf $(LOAD_DIR) && $(BIN)/xds-load --write-mesh $(LOAD_DIR) $(LOAD_MESH)
	@$(PILOT) --config-dir $(LOAD_DIR) --grpc-addr 127.0.0.1:15910 --http-addr 127.0.0.1:15914 --log-level warn & pid=$$!; \
		trap "kill $$pid" EXIT; \
		until curl -sf http://127.0.0.1:15914/readyz >/dev/null; do sleep 0.2; done; \
		$(BIN)/xds-load --addr 127.0.0.1:15910 --config-dir $(LOAD_DIR) $(LOAD_MESH) $(LOAD_FLEET) --server-pid $$pid

## clean: remove what build and the lint tool built
clean:
	rm -f $(PILOT) $(PILOTCTL) $(BIN)/xds-load $(BIN)/staticcheck
