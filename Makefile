# oauth-token-rotator: build, test, demo and benchmark.
#
#   make demo    run the whole system locally (moto + a local token endpoint + the real binaries)
#   make test    vet, staticcheck, cfn-lint, unit + integration + end-to-end tests (with -race)
#   make bench   benchmarks and measurements
#   make sam-check  the README's Deploy commands with the real, pinned SAM CLI against moto
#
# `sam build` calls the build-<LogicalId> targets with ARTIFACTS_DIR set.

GO            ?= go
ARTIFACTS_DIR ?= $(CURDIR)/.build
LAMBDA_ENV    := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
# VERSION=1.2.3 make build stamps the release into the User-Agent
# (oauth-token-rotator/1.2.3); unset, the code's default version is used.
VERSION       ?=
LDFLAGS       := -s -w$(if $(VERSION), -X github.com/m2mtokens/oauth-token-rotator/internal/version.Version=$(VERSION))
LAMBDA_FLAGS  := -tags lambda.norpc -trimpath -ldflags="$(LDFLAGS)"

.PHONY: all test vet fmt-check staticcheck lint cfn-lint unit demo bench build clean check-moto readers-deps

all: test

## ---- SAM build targets (BuildMethod: makefile) ----
# What SAM CLI 1.170 does (make sam-check proves it): `make --makefile <this
# Makefile> build-<LogicalId>` with ARTIFACTS_DIR=<repo>/.aws-sam/build/<LogicalId>
# in the environment, run in the repository itself because samconfig.toml sets
# build_in_source (without it SAM first copies all of CodeUri, the whole
# repository, .build/ included, to a scratch folder and runs make there).

# The rotator's bundle also holds the profiles documents and any CA bundle
# (*.pem, the template's TokenEndpointCABundle) beside them.
build-RotatorFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/rotator
	mkdir -p $(ARTIFACTS_DIR)/profiles
	cp functions/rotator/profiles/*.yaml $(ARTIFACTS_DIR)/profiles/
	for f in functions/rotator/profiles/*.pem; do [ ! -e "$$f" ] || cp "$$f" $(ARTIFACTS_DIR)/profiles/; done

build-ConsumerFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/consumer

build:
	$(MAKE) build-RotatorFunction ARTIFACTS_DIR=$(CURDIR)/.build/RotatorFunction
	$(MAKE) build-ConsumerFunction ARTIFACTS_DIR=$(CURDIR)/.build/ConsumerFunction

## ---- checks and tests ----

test: fmt-check vet staticcheck cfn-lint check-moto readers-deps unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

cfn-lint:
	@command -v cfn-lint >/dev/null 2>&1 || { echo 'cfn-lint not found: pip install cfn-lint'; exit 1; }
	cfn-lint template.yaml functions/reader-role.yaml functions/consumer.yaml

check-moto:
	@command -v moto_server >/dev/null 2>&1 || { \
	  echo 'moto_server not found: pip install "moto[server]"'; \
	  if [ "$$CI" = "true" ]; then exit 1; fi; \
	  echo '(integration and end-to-end tests will be skipped)'; }

## ---- the Python and Node readers: interpreters and dependencies ----
# TestReaders runs every reader on the oldest and the newest interpreter it
# tests, all pinned in internal/testing/readers/runtimes: CPython from the
# Go module go-embed-python (one python<version>.mod each), Node.js as the
# npm registry carries its binaries (package.json); and the readers' own
# dependencies, pinned in pkg/tokenrecord/readers (requirements.txt,
# package.json). All go into .build/readers only (never globally), again
# only when a pin changes. pip (python3 -m pip) installs the Python
# dependencies for each interpreter, npm the Node ones. Without python3 or
# npm the readers' tests skip; under CI=true both fail.

READERS     := pkg/tokenrecord/readers
RUNTIMES    := internal/testing/readers/runtimes
READERS_OUT := $(CURDIR)/.build/readers
PYTHONS     := $(patsubst $(RUNTIMES)/python%.mod,%,$(wildcard $(RUNTIMES)/python*.mod))

readers-deps: $(PYTHONS:%=$(READERS_OUT)/python%/.installed) $(READERS_OUT)/node/.installed $(READERS_OUT)/node-runtimes/.installed

$(READERS_OUT)/python%/.installed: $(RUNTIMES)/python%.mod $(RUNTIMES)/python%.sum $(RUNTIMES)/main.go $(READERS)/requirements.txt
	@if ! command -v python3 >/dev/null 2>&1; then \
	  echo 'python3 not found: the Python readers will not be tested'; \
	  if [ "$$CI" = "true" ]; then exit 1; fi; exit 0; fi; \
	set -e; rm -rf $(@D); \
	(cd $(RUNTIMES) && $(GO) run -modfile=python$*.mod . $(@D)/cpython); \
	python3 -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore --no-deps --only-binary=:all: \
	  --no-compile --python-version $* --target $(@D)/site -r $(READERS)/requirements.txt; \
	$(@D)/cpython/bin/python3 -m compileall -q -j 0 $(@D)/site >/dev/null; \
	touch $@

# npm-ci installs the package.json and package-lock.json it depends on
# into the target's folder.
define npm-ci
@if ! command -v npm >/dev/null 2>&1; then \
  echo 'npm not found: the Node readers will not be tested'; \
  if [ "$$CI" = "true" ]; then exit 1; fi; exit 0; fi; \
set -e; rm -rf $(@D); mkdir -p $(@D); cp $^ $(@D)/; \
cd $(@D) && npm ci --no-audit --no-fund --loglevel=error; \
touch $@
endef

$(READERS_OUT)/node/.installed: $(READERS)/package.json $(READERS)/package-lock.json
	$(npm-ci)

$(READERS_OUT)/node-runtimes/.installed: $(RUNTIMES)/package.json $(RUNTIMES)/package-lock.json
	$(npm-ci)

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

## ---- the real AWS SAM CLI (make sam-check; not part of make test) ----
# sam-install puts the SAM CLI and moto_server pinned in .ci/sam-requirements.txt
# into the gitignored virtual environment SAM_VENV (about 400 MB, a few minutes
# the first time; reused while the pins do not change). sam-check runs, with no
# AWS account: the README's Deploy block (sam validate --lint, sam build for
# every config environment of samconfig.toml, sam deploy as far as moto's
# CloudFormation goes), sam package against moto's S3, checks of every build,
# and `sam <command> --help` for every sam command in the README and docs/. It ends with
# what it proved and what it could not. See go doc ./internal/testing/samcheck.

SAM_VENV ?= $(CURDIR)/.build/sam-venv

.PHONY: sam-install sam-check

sam-install:
	bash .ci/sam-install $(SAM_VENV)

sam-check: sam-install
	PATH="$(SAM_VENV)/bin:$$PATH" SAMCHECK=1 $(GO) test -count=1 -timeout 20m -v -run '^TestSAM' ./internal/testing/samcheck/

## ---- fuzzing and vulnerabilities (not part of make test) ----
# make test runs every fuzz target's seeds; make fuzz fuzzes each target for
# FUZZTIME (make fuzz FUZZTIME=10m for a longer run). A failing input is
# saved under the package's testdata/fuzz/ and from then on runs in make test.
# make vulncheck needs https://vuln.go.dev, which not every build host reaches.

FUZZTIME ?= 10s
FUZZ_TARGETS := ./internal/profile:FuzzParse ./internal/clientcred:FuzzParse \
  ./internal/oauth:FuzzParseToken ./internal/oauth:FuzzFetchError \
  ./pkg/tokenrecord:FuzzParse ./pkg/tokenrecord:FuzzMarshalParse

.PHONY: fuzz vulncheck

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "== $$fn in $$pkg for $(FUZZTIME) =="; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

vulncheck:
	$(GO) tool govulncheck ./...

clean:
	rm -rf .build .aws-sam

## ---- local demo ----

demo: check-moto
	@command -v moto_server >/dev/null 2>&1 || exit 1
	$(GO) run ./internal/testing/demo/cmd/demo

## ---- benchmarks and measurements ----
# The consumer's hit-path benchmarks, then internal/testing/perf's measurements (PERF=1):
# AWS calls per run, first fill under Parameter Store's quotas (the built
# rotator, 400 and 1,000 profiles at 3 and 10 PutParameter/s: about 12 minutes
# of the quota's own time), rotator scale (without the quota model) and memory,
# thundering herd and steady writes per run against the write budget, cold
# consumer bursts against the 40 TPS read quota, cold start, fleet simulation.
# Each writes a Markdown section to BENCH_DIR; the summary at the end prints
# them all. About 25 minutes on 2 cores.

BENCH_DIR ?= $(CURDIR)/.build/bench

bench: check-moto
	@command -v moto_server >/dev/null 2>&1 || exit 1
	@rm -rf $(BENCH_DIR) && mkdir -p $(BENCH_DIR) && { cat /proc/loadavg > $(BENCH_DIR)/loadavg 2>/dev/null || true; }
	@echo '== consumer hot path: pkg/tokencache benchmarks, 5 rounds (interleaved, so load drifts hit both sides) =='
	@for i in 1 2 3 4 5; do \
	  $(GO) test -run '^$$' -bench 'Hit|TimeNow' -benchmem -benchtime 300ms -count 1 -cpu 1,$$(nproc) ./pkg/tokencache/ \
	    > $(BENCH_DIR)/hotpath.$$i.txt 2>&1 || { cat $(BENCH_DIR)/hotpath.$$i.txt; exit 1; }; \
	  grep '^Benchmark' $(BENCH_DIR)/hotpath.$$i.txt; cat $(BENCH_DIR)/hotpath.$$i.txt >> $(BENCH_DIR)/hotpath.txt; \
	done
	@echo '== measurements: internal/testing/perf with PERF=1 =='
	cd internal/testing/perf && PERF=1 PERF_REPORT=$(BENCH_DIR) PERF_HOTPATH=$(BENCH_DIR)/hotpath.txt $(GO) test -count=1 -timeout 60m -run .
	@echo; echo '======== make bench: summary ========'; echo; cat $(BENCH_DIR)/*.md
