# mandate: build, test and demo. `make help` lists the targets.
GO        ?= go
BIN       ?= bin/mandate
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS   := -X github.com/mandatehq/mandate/internal/version.Version=$(VERSION) \
             -X github.com/mandatehq/mandate/internal/version.Commit=$(COMMIT)
FUZZTIME  ?= 10s
OPA_VERSION := $(shell $(GO) list -m -f '{{.Version}}' github.com/open-policy-agent/opa 2>/dev/null)
ACTIONLINT_VERSION ?= v1.7.12

.PHONY: help build test test-short lint bench fuzz demo opa actionlint clean

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/mandate
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mandate

test: opa actionlint ## run every test with the race detector (needs PostgreSQL on 127.0.0.1:5432)
	PATH="$(CURDIR)/bin:$$PATH" $(GO) test -race -count=1 -timeout 45m ./...

test-short: ## quick tests without -race
	PATH="$(CURDIR)/bin:$$PATH" $(GO) test -count=1 -short ./...

lint: ## go vet and a gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench: build ## Go benchmarks (no baseline scripts; see bench/)
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## short runs of every native fuzz target
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

opa: bin/opa ## the stock opa CLI, built from the Go module proxy
bin/opa:
	@mkdir -p bin
	GOBIN="$(CURDIR)/bin" GOFLAGS=-mod=mod $(GO) install github.com/open-policy-agent/opa@$(OPA_VERSION)

actionlint: bin/actionlint ## actionlint for the workflow tests, built from the Go module proxy
bin/actionlint:
	@mkdir -p bin
	GOBIN="$(CURDIR)/bin" GOFLAGS=-mod=mod $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

demo: build ## the quickstart end to end: compile, sign, explain, then the gateway on local PostgreSQL
	MANDATE=$(BIN) ./scripts/demo.sh

clean:
	rm -rf bin build
