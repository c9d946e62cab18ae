# The two commands a newcomer needs: `make run` and `make test`.

TEMPORAL_CLI_VERSION := v1.5.1
BIN      := $(CURDIR)/.bin
TEMPORAL := $(BIN)/temporal-$(TEMPORAL_CLI_VERSION)/temporal
PORTAL   := $(BIN)/portal

.PHONY: run test bench build temporal migrate fmt vet

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

fmt:
	gofmt -l -w .

vet:
	go vet ./...
