# One-word entry points; README.md documents them.
GO ?= go
PKGS := ./...

.PHONY: build run demo test test-short fuzz bench bench-sip vet

build:
	$(GO) build -o switchboard ./cmd/switchboard

demo:
	$(GO) run ./cmd/switchboard serve --demo

# The test command CI runs: race detector on, every package, end-to-end
# tests against SIPp and baresip included (they fail, not skip, when CI lacks them).
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Each fuzz target for 30 s.
fuzz:
	./scripts/fuzz-all.sh 30s

# Go micro-benchmarks (store, media, ...).
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# SIPp load harness against a running switchboard, beside the SIPp-to-SIPp ceiling.
bench-sip:
	./bench/run.sh
