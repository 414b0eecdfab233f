# etcd-drill: build, run, test, bench. Everything goes through `go`; tools
# (ginkgo, gotestsum) are pinned as `tool` lines in go.mod.
GO       ?= go
SCENARIO ?= quorum-loss/snapshot-restore
OUT      ?= out
# Ginkgo label filter for the suites, e.g. LABELS=embedded
LABELS   ?=

.PHONY: all build bins bins-all image image-if-docker run test unit suites docker-note bench vet clean

all: build bins

build:
	$(GO) build -o bin/etcd-drill ./cmd/etcd-drill

# The pinned etcd's real binaries (the `tool` lines of go.mod), built from the
# Go module proxy: no download of a prebuilt release.
ETCD_PKGS := etcd=go.etcd.io/etcd/server/v3 etcdctl=go.etcd.io/etcd/etcdctl/v3 etcdutl=go.etcd.io/etcd/etcdutl/v3
bins:
	@mkdir -p bin
	@set -e; for p in $(ETCD_PKGS); do \
		echo "go build -o bin/$${p%%=*} $${p#*=}"; \
		CGO_ENABLED=0 $(GO) build -trimpath -o bin/$${p%%=*} $${p#*=}; \
	done
	@v=$$(bin/etcd --version | sed -n 's/^etcd Version: //p'); mkdir -p bin/etcd-v$$v; \
		for n in etcd etcdctl etcdutl; do ln -sf ../$$n bin/etcd-v$$v/$$n; done
	@bin/etcd --version | head -1

# The other minor lines' binaries, each from its own module under
# tools/etcd/vX.Y (their dependency graphs differ), into bin/etcd-vX.Y.Z/.
# VERSIONS picks lines (e.g. VERSIONS=3.6); a built one is not built again.
VERSIONS ?= $(patsubst tools/etcd/v%,%,$(wildcard tools/etcd/v*))
bins-all: bins
	@set -e; for v in $(VERSIONS); do \
		d=tools/etcd/v$$v; test -f $$d/go.mod || { echo "no module $$d for etcd $$v (known: $$(ls tools/etcd))"; exit 2; }; \
		full=$$(cd $$d && $(GO) list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3); out=bin/etcd-$$full; \
		if [ -x $$out/etcd ] && [ -x $$out/etcdctl ] && [ -x $$out/etcdutl ]; then echo "$$out: built"; continue; fi; \
		mkdir -p $$out; \
		for p in $(ETCD_PKGS); do \
			echo "(cd $$d && go build -o $$out/$${p%%=*} $${p#*=})"; \
			(cd $$d && CGO_ENABLED=0 $(GO) build -trimpath -o $(CURDIR)/$$out/$${p%%=*} $${p#*=}); \
		done; \
		$$out/etcd --version | head -1; \
	done

# The container backend's etcd image, FROM scratch with the static binaries,
# tagged with the etcd version (the backend also builds it when missing).
image: bins
	docker build -t etcd-drill/etcd:$$(bin/etcd --version | sed -n 's/^etcd Version: //p') -f tools/image/Dockerfile bin/

# Built once before the tests, so that parallel test packages do not each
# build it.
image-if-docker:
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory image; fi

# The default drill on the embedded backend.
run:
	$(GO) run ./cmd/etcd-drill run $(SCENARIO)

# Every test: unit and integration tests through gotestsum, then the Ginkgo
# suites; both write JUnit reports under $(OUT)/.
test: vet bins docker-note image-if-docker unit suites

# The container specs run when a Docker engine answers, and are skipped (and
# say so) when none does.
docker-note:
	@docker info >/dev/null 2>&1 && echo "make test: a Docker engine answers: container specs run" \
		|| echo "make test: NO Docker engine answers: container specs are SKIPPED"

unit:
	@mkdir -p $(OUT)
	$(GO) tool gotestsum --format testname --junitfile $(OUT)/junit-unit.xml -- \
		-count=1 -timeout 15m $$($(GO) list ./... | grep -v /suites/)

suites:
	@mkdir -p $(OUT)
	$(GO) tool ginkgo -r --timeout 15m $(if $(CI),--no-color) --label-filter='$(LABELS)' \
		--junit-report junit-suites.xml --output-dir $(OUT) ./suites

# Timed drills (3 members, 10,000 writes) with each step's wall time, on
# each backend (containers only when Docker answers), and the time a kill takes.
bench: bins
	$(GO) test -run '^$$' -bench Drill -benchtime 3x ./scenarios
	$(GO) test -run '^$$' -bench Kill -benchtime 20x ./harness/backend/...
	$(GO) test -run '^$$' -bench Check -benchtime 20x ./harness/linearize
	$(GO) test -run '^$$' -bench Scale -benchtime 1x -timeout 20m ./scenarios

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

clean:
	rm -rf bin $(OUT)
