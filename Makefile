# erhverv: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
ADDR ?= 127.0.0.1:8080

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/erhverv
	CGO_ENABLED=0 go build -ldflags '$(LDFLAGS)' -o bin/erhverv ./cmd/erhverv

# The development data key stays in .data/ (ignored) so demo users' CPR
# numbers stay readable across restarts. Never use it in production.
.data/data-key:
	@mkdir -p .data && umask 077 && head -c 32 /dev/urandom | base64 > $@

.PHONY: run
run: build .data/data-key ## bring the platform up with demo data on http://127.0.0.1:8080
	@url=$$(.ci/localpg.sh run); export DATABASE_URL="$$url"; \
	export ERHVERV_DATA_KEY="$${ERHVERV_DATA_KEY:-$$(cat .data/data-key)}"; \
	export ERHVERV_ADDR="$${ERHVERV_ADDR:-$(ADDR)}"; \
	export ERHVERV_LOG_FORMAT="$${ERHVERV_LOG_FORMAT:-text}"; \
	bin/erhverv migrate up; \
	bin/erhverv seed demo; \
	echo; echo "erhverv is starting on http://$$ERHVERV_ADDR/  (Ctrl-C stops it)"; echo; \
	exec bin/erhverv serve

.PHONY: test
test: ## run every check and test: vet, templ, policies, Go tests with -race, e2e
	@.ci/deps.sh
	go vet ./...
	go tool templ generate
	@git diff --exit-code --stat -- '*_templ.go' || { echo "make test: generated templ files differ from the committed ones: run 'go tool templ generate' and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- '*_templ.go')" || { echo "make test: uncommitted generated templ files: commit them"; exit 1; }
	$(MAKE) --no-print-directory policy-check
	url=$$(.ci/localpg.sh test); ERHVERV_TEST_DATABASE_URL="$$url" go test -race -count=1 -timeout 20m ./...

.PHONY: policy-check
policy-check: ## opa fmt, check --strict and test --coverage (90% or more)
	go tool opa fmt --list --fail policy/
	go tool opa check --strict policy/
	go tool opa test policy/ --coverage --threshold 90 --format json > /dev/null
	go tool opa test policy/ --verbose=false

.PHONY: bench
bench: ## run the Go benchmarks (figures in docs/PERFORMANCE.md)
	go test -run '^$$' -bench . -benchmem ./internal/authz/

.PHONY: generate
generate: ## regenerate templ components
	go tool templ generate

.PHONY: assets
assets: ## refresh web/static/vendor from the npm packages pinned in package-lock.json
	web/assets.sh

.PHONY: db-stop
db-stop: ## stop the project-local PostgreSQL clusters under .data/
	.ci/localpg.sh stop

.PHONY: clean
clean: ## remove build output (keeps .data/)
	rm -rf bin e2e/artifacts
