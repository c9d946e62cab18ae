# The two commands a newcomer needs: `make run` and `make test`.

TEMPORAL_CLI_VERSION := v1.5.1
BIN      := $(CURDIR)/.bin
TEMPORAL := $(BIN)/temporal-$(TEMPORAL_CLI_VERSION)/temporal
PORTAL   := $(BIN)/portal

.PHONY: run test bench build temporal migrate fmt vet record-history

## run: the whole portal on local defaults (Temporal dev server, Postgres database, outbox mail)
run: $(TEMPORAL) build
	exec $(PORTAL) dev --temporal-cli $(TEMPORAL)

## test: every test, against a database of its own and a Temporal dev server
test: $(TEMPORAL)
	TEMPORAL_CLI=$(TEMPORAL) go test -count=1 ./...

## bench: benchmarks (not part of test)
bench: $(TEMPORAL)
	TEMPORAL_CLI=$(TEMPORAL) go test -run '^$$' -bench . -benchtime 1x -timeout 60m ./benchmarks/

build:
	go build -o $(PORTAL) ./cmd/portal

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
