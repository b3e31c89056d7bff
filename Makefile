# erhverv: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
ADDR ?= 127.0.0.1:8080
SIM_ADDR ?= 127.0.0.1:8090
MAIL_SMTP_ADDR ?= 127.0.0.1:1025
MAIL_HTTP_ADDR ?= 127.0.0.1:8025
DEMO_SP_ADDR ?= 127.0.0.1:8070
# The demo service's OIDC client, as `erhverv seed demo` registers it
# (internal/seed/serviceclient.go; a test keeps the two the same).
DEMO_SP_CLIENT_ID := 911c3200-794f-5c07-8bf2-fe58f0ac1f52
DEMO_SP_CLIENT_SECRET := erhsp_demo-service-development-only
CALLBACK := /login/callback

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/erhverv, bin/mitid-sim, bin/devmail and bin/demo-sp
	CGO_ENABLED=0 go build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/erhverv ./cmd/mitid-sim ./cmd/devmail ./cmd/demo-sp

# The development data key stays in .data/ (ignored) so demo users' CPR
# numbers stay readable across restarts. Never use it in production.
.data/data-key:
	@mkdir -p .data && umask 077 && head -c 32 /dev/urandom | base64 > $@

.PHONY: run
run: build .data/data-key ## bring the platform up with demo data, the MitID simulator and a mail catcher
	@url=$$(.ci/localpg.sh run); export DATABASE_URL="$$url"; \
	export ERHVERV_DATA_KEY="$${ERHVERV_DATA_KEY:-$$(cat .data/data-key)}"; \
	export ERHVERV_ADDR="$${ERHVERV_ADDR:-$(ADDR)}"; \
	export ERHVERV_LOG_FORMAT="$${ERHVERV_LOG_FORMAT:-text}"; \
	export ERHVERV_BROKER_ISSUER="http://$(SIM_ADDR)" ERHVERV_BROKER_CLIENT_ID=erhverv ERHVERV_BROKER_CLIENT_SECRET=erhverv-dev-secret; \
	export ERHVERV_SMTP_ADDR="$(MAIL_SMTP_ADDR)" ERHVERV_SMTP_TLS=none; \
	export ERHVERV_CVR_REGISTER_FILE="$${ERHVERV_CVR_REGISTER_FILE:-internal/seed/cvr-register.json}"; \
	export ERHVERV_WEBHOOK_ALLOW_HTTP=true ERHVERV_WEBHOOK_ALLOW_PRIVATE=true; \
	export MITID_SIM_ADDR="$(SIM_ADDR)" MITID_SIM_ISSUER="http://$(SIM_ADDR)" MITID_SIM_STORE=.data/mitid-sim/identities.json; \
	export MITID_SIM_REDIRECT_URIS="http://$$ERHVERV_ADDR$(CALLBACK)" MITID_SIM_POST_LOGOUT_REDIRECT_URIS="http://$$ERHVERV_ADDR/"; \
	export DEVMAIL_SMTP_ADDR="$(MAIL_SMTP_ADDR)" DEVMAIL_HTTP_ADDR="$(MAIL_HTTP_ADDR)"; \
	bin/erhverv migrate up; \
	ERHVERV_DEMO_SP_URL="http://$(DEMO_SP_ADDR)" bin/erhverv seed demo; \
	bin/devmail & mailpid=$$!; \
	bin/mitid-sim & simpid=$$!; \
	DEMO_SP_ADDR="$(DEMO_SP_ADDR)" DEMO_SP_ISSUER="http://$$ERHVERV_ADDR" \
		DEMO_SP_CLIENT_ID="$(DEMO_SP_CLIENT_ID)" DEMO_SP_CLIENT_SECRET="$(DEMO_SP_CLIENT_SECRET)" bin/demo-sp & spid=$$!; \
	trap 'kill $$mailpid $$simpid $$spid 2>/dev/null || true' EXIT; \
	echo; echo "erhverv is starting on http://$$ERHVERV_ADDR/  (Ctrl-C stops it)"; \
	echo "  MitID simulator: http://$(SIM_ADDR)/   mail catcher: http://$(MAIL_HTTP_ADDR)/   demo service: http://$(DEMO_SP_ADDR)/"; echo; \
	bin/erhverv serve

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

.PHONY: load
load: build ## build bin/erhverv-load, the load test of the integrator API and of logins to services (docs/PERFORMANCE.md)
	CGO_ENABLED=0 go build -o bin/ ./cmd/erhverv-load
	@echo "see docs/PERFORMANCE.md: 'Integrator API' (erhverv-load seed, run) and 'Logins to services' (erhverv-load logins, against make run)"

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
