# etcd-drill: build, run, test, bench. Everything goes through `go`; tools
# (ginkgo, gotestsum) are pinned as `tool` lines in go.mod.
GO       ?= go
SCENARIO ?= quorum-loss/snapshot-restore
OUT      ?= out
# Ginkgo label filter for the suites, e.g. LABELS=embedded
LABELS   ?=

.PHONY: all build run test unit suites bench vet fmt-check clean

all: build

build:
	$(GO) build -o bin/etcd-drill ./cmd/etcd-drill

# The default drill on the embedded backend.
run:
	$(GO) run ./cmd/etcd-drill run $(SCENARIO)

# Every test: unit and integration tests through gotestsum, then the Ginkgo
# suites; both write JUnit reports under $(OUT)/.
test: vet unit suites

unit:
	@mkdir -p $(OUT)
	$(GO) tool gotestsum --format testname --junitfile $(OUT)/junit-unit.xml -- \
		-count=1 -timeout 15m $$($(GO) list ./... | grep -v /suites/)

suites:
	@mkdir -p $(OUT)
	$(GO) tool ginkgo -r --timeout 15m $(if $(CI),--no-color) --label-filter='$(LABELS)' \
		--junit-report junit-suites.xml --output-dir $(OUT) ./suites

# Timed drill (3 members, 10,000 writes) with each step's wall time, and the
# time an embedded kill takes.
bench:
	$(GO) test -run '^$$' -bench Drill -benchtime 3x ./scenarios
	$(GO) test -run '^$$' -bench Kill -benchtime 20x ./harness/backend/embedded

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

clean:
	rm -rf bin $(OUT)
