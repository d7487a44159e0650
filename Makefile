# dialerd — targets a newcomer guesses right.
GO      ?= go
PKGS    := ./...
# make run starts one node with this admin token unless one is set: it is a
# development default, never use it on a reachable address.
DIALERD_BOOTSTRAP_TOKEN ?= dev-admin-token
export DIALERD_BOOTSTRAP_TOKEN

.PHONY: run build test test-short fuzz bench lint proto tidy clean

run: ## one node on 127.0.0.1:8080, data in ./data (extra flags: ARGS='--clock virtual --clock-speed 600')
	$(GO) run ./cmd/dialerd $(ARGS)

build: ## bin/dialerd (the node) and bin/dialerctl (its command-line client, docs/cli.md)
	$(GO) build -o bin/dialerd ./cmd/dialerd
	$(GO) build -o bin/dialerctl ./cmd/dialerctl

test: ## vet, then every test with the race detector (multi-node tests run as processes), then the dialer simulation
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)
	# The simulation is one goroutine (nothing for the race detector to
	# find, and 8x slower under it): 200 seeded runs of two simulated days.
	$(GO) test -count=1 -run TestSimulation ./dialer -args -sim.seeds=200

test-short:
	$(GO) test -count=1 -short $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME each
	$(GO) test -run='^$$' -fuzz=FuzzCampaignApplyJSON -fuzztime=$${FUZZTIME:-30s} .
	$(GO) test -run='^$$' -fuzz=FuzzAppendJSON -fuzztime=$${FUZZTIME:-30s} .
	$(GO) test -run='^$$' -fuzz=FuzzCSVReader -fuzztime=$${FUZZTIME:-30s} ./intake
	$(GO) test -run='^$$' -fuzz=FuzzNormalize -fuzztime=$${FUZZTIME:-30s} ./intake
	$(GO) test -run='^$$' -fuzz=FuzzReadDNCFile -fuzztime=$${FUZZTIME:-30s} ./intake
	$(GO) test -run='^$$' -fuzz=FuzzParseDNCInput -fuzztime=$${FUZZTIME:-30s} .
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$${FUZZTIME:-30s} ./phone
	$(GO) test -run='^$$' -fuzz=FuzzDecodeRaftLog -fuzztime=$${FUZZTIME:-30s} ./persistence

bench: ## the bench harness; writes bench/RESULTS.md
	$(GO) run ./bench/cmd/bench $(BENCHFLAGS)

lint: ## gofmt, vet and staticcheck (fetched through the module proxy, pinned)
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

proto: ## regenerate actors/pb from proto/ (needs protoc and protoc-gen-go)
	protoc -I proto -I /usr/include --go_out=. --go_opt=module=github.com/dialerd/dialerd proto/dialerd/v1/*.proto

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin data
