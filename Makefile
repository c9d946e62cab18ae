# The two commands a newcomer needs: `make run` and `make test`.

# Every build uses this Go release, whatever Go is installed: the go command
# fetches it from the module proxy the first time (about 10 s) and caches it.
export GOTOOLCHAIN := go1.27.3

TEMPORAL_CLI_VERSION := v1.5.1
BIN      := $(CURDIR)/.bin
TEMPORAL := $(BIN)/temporal-$(TEMPORAL_CLI_VERSION)/temporal
PORTAL   := $(BIN)/portal
GOVULNCHECK_VERSION := v1.9.0
# The Go vulnerability database, as the module golang.org/x/vulndb that the
# module proxy serves; `make vulndb-latest` moves the pin to the newest.
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
GOVULNCHECK := $(BIN)/govulncheck-$(GOVULNCHECK_VERSION)/govulncheck
VULNDB      := $(BIN)/vulndb-$(VULNDB_VERSION)
IMAGE       ?= portal
GOLANGCI_LINT_VERSION := v2.15.0
STATICCHECK_VERSION   := v0.8.2
GOLANGCI_LINT := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint
STATICCHECK   := $(BIN)/staticcheck-$(STATICCHECK_VERSION)/staticcheck

.PHONY: run test faults lint bench build temporal migrate fmt vet record-history vulncheck vulndb-latest deps image client

## run: the whole portal on local defaults (Temporal dev server, Postgres database, outbox mail)
run: $(TEMPORAL) build
	exec $(PORTAL) dev --temporal-cli $(TEMPORAL)

## test: the linters, then every test under the race detector, against a database of its own and a Temporal dev server,
##   then 10 s of fuzzing the request checks (seed corpus in api/contract/testdata/fuzz)
test: lint $(TEMPORAL)
	TEMPORAL_CLI=$(TEMPORAL) go test -race -count=1 -timeout 30m ./...
	go test -run '^$$' -fuzz '^FuzzRequestDecoding$$' -fuzztime 10s ./api/contract/

## faults: the fault-injection suite (about 9 minutes; faults/): the built binary as API and worker
##   processes on real Postgres and a Temporal dev server on a file database, with Postgres and
##   the mail provider behind Toxiproxy; each case's figures go to .bin/faults-report.jsonl
faults: build $(TEMPORAL)
	rm -f $(BIN)/faults-report.jsonl
	FAULTS=1 PORTAL_BIN=$(PORTAL) TEMPORAL_CLI=$(TEMPORAL) FAULTS_REPORT=$(BIN)/faults-report.jsonl \
		go test -count=1 -v -timeout 40m -parallel 3 ./faults/

## lint: go vet, staticcheck and golangci-lint (.golangci.yml: import boundaries, gosec, errcheck...)
lint: $(GOLANGCI_LINT) $(STATICCHECK)
	go vet ./...
	$(STATICCHECK) ./...
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	GOBIN=$(dir $(GOLANGCI_LINT)) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(STATICCHECK):
	GOBIN=$(dir $(STATICCHECK)) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## client: regenerate the typed Go client (client/client.gen.go) from api/openapi.yaml with the
##   oapi-codegen pinned in go.mod (`tool` line); client's test fails when the two disagree
client:
	cd client && go tool oapi-codegen -config oapi-codegen.yaml ../api/openapi.yaml

## bench: benchmarks (not part of test). A 100,000-contact run at a mail rate of 20 a second
##   sends for 83 minutes; the bulk phase gives up by itself after 3 hours, and the 4-hour
##   deadline leaves the phases after it room.
bench: $(TEMPORAL)
	TEMPORAL_CLI=$(TEMPORAL) go test -run '^$$' -bench . -benchtime 1x -timeout 4h ./benchmarks/

## build: the portal binary, stamped with its version and commit (`portal version`)
build:
	go build -trimpath -buildvcs=auto -o $(PORTAL) ./cmd/portal

## vulncheck: govulncheck over the source and the built binary, offline, against the pinned
##   database; fails on any vulnerability the code reaches that vulncheck-exclusions.txt doesn't exclude
vulncheck: build $(GOVULNCHECK) $(VULNDB)/index/db.json
	$(GOVULNCHECK) -db file://$(VULNDB) -format json ./... > $(BIN)/vulncheck-source.json
	$(GOVULNCHECK) -db file://$(VULNDB) -format json -mode binary $(PORTAL) > $(BIN)/vulncheck-binary.json
	go run ./cmd/vulngate -exclusions vulncheck-exclusions.txt $(BIN)/vulncheck-source.json $(BIN)/vulncheck-binary.json

$(GOVULNCHECK):
	GOBIN=$(dir $(GOVULNCHECK)) go install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

# The offline database: the vulndb module's OSV files, indexed by the
# module's own cmd/indexdb; built once per pinned version (about 2 minutes
# on a new machine), older versions removed.
$(VULNDB)/index/db.json:
	rm -rf $(VULNDB) $(VULNDB).tmp
	GOBIN=$(VULNDB).tmp/bin go install golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION)
	src=$$(cd / && go mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p') && \
		test -d "$$src/data/osv" && $(VULNDB).tmp/bin/indexdb -vulns "$$src/data/osv" -out $(VULNDB).tmp/db
	find $(BIN) -maxdepth 1 -name 'vulndb-*' ! -name '$(notdir $(VULNDB)).tmp' -exec rm -rf {} +
	mv $(VULNDB).tmp/db $(VULNDB) && rm -rf $(VULNDB).tmp

## vulndb-latest: move VULNDB_VERSION to the newest vulnerability database the module proxy serves
vulndb-latest:
	v=$$(cd / && go list -m -f '{{.Version}}' golang.org/x/vulndb@latest) && \
		sed -i "s/^VULNDB_VERSION := .*/VULNDB_VERSION := $$v/" $(firstword $(MAKEFILE_LIST)) && echo "VULNDB_VERSION := $$v"

## deps: every direct module and the vulnerability database to their newest, tidy, then vulncheck and the suite
##   (gin without -u: its helpers' newest versions have needed a Go newer than the pinned one)
deps: vulndb-latest
	go get -u $$(go list -m -f '{{if not (or .Indirect .Main)}}{{.Path}}{{end}}' all | grep -vx 'github.com/gin-gonic/gin')
	go get github.com/gin-gonic/gin@latest
	go mod tidy
	$(MAKE) vulncheck test

## image: the container image, labelled with its version, commit and source (needs Docker)
image:
	v=$$(git describe --tags --always --dirty) && docker build \
		--build-arg VERSION=$$v --build-arg REVISION=$$(git rev-parse HEAD) \
		--build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ) -t $(IMAGE):$$v .

migrate: build
	$(PORTAL) migrate

## temporal: the pinned Temporal CLI, built once and cached under .bin/
temporal: $(TEMPORAL)

$(TEMPORAL):
	GOBIN=$(dir $(TEMPORAL)) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

## record-history: write a finished workflow's history into workflows/testdata/ for the replay test
##   make record-history WORKFLOW_ID=invitation/acme/1 NAME=invitation_accepted_v4
##   (against the server of `make run`, or TEMPORAL_ADDRESS)
record-history: $(TEMPORAL)
	@test -n "$(WORKFLOW_ID)" -a -n "$(NAME)" || { echo "usage: make record-history WORKFLOW_ID=<id> NAME=<file name without .json>"; exit 2; }
	$(TEMPORAL) workflow show --address $${TEMPORAL_ADDRESS:-127.0.0.1:7233} --namespace $${TEMPORAL_NAMESPACE:-default} \
		--workflow-id "$(WORKFLOW_ID)" --output json > workflows/testdata/$(NAME).json.tmp
	mv workflows/testdata/$(NAME).json.tmp workflows/testdata/$(NAME).json
	go test -count=1 -run 'TestReplay|TestEveryRegistered' ./workflows/

fmt:
	gofmt -l -w .

vet:
	go vet ./...
