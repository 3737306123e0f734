# The two commands a newcomer needs:
#   make run    opens bertwork on the embedded IMDB sample (ARGS="..." passes options)
#   make test   runs the whole test suite
# Both install libtorch on first use (scripts/setup-libtorch.sh, cached per user).
# The workbench's end-to-end tests (tests/tui_e2e.rs) need tmux; without it `make test`
# skips them with a message (CI=true fails them instead). `make test` installs nothing
# system-wide:
#   make test-tools   installs tmux with apt-get (as root), if it is missing

.PHONY: run test setup build test-tools

setup:
	@bash scripts/setup-libtorch.sh

build: setup
	cargo build --release

run: setup
	cargo run --release --quiet -- $(ARGS)

test: setup
	@command -v tmux >/dev/null || echo "note: tmux is missing, so the workbench end-to-end tests are skipped; \`make test-tools\` installs it"
	cargo test --quiet

test-tools:
	@command -v tmux >/dev/null || apt-get install -y -qq tmux || { apt-get update -qq && apt-get install -y -qq tmux; }

# Optional, Python needed (a venv with torch 2.11.0 + transformers, made on first use):
#   make bench-hf      bertwork vs HF transformers, same shapes and threads, alternated:
#                      in fp32 (ARGS), then in bf16 against the sparse head (BF16_ARGS)
#   make hf-fixture    rebuilds tests/fixtures/hf_tiny with transformers
.PHONY: bench-hf hf-fixture
BF16_ARGS ?= --precision bf16 --references hf-sparse-bf16
bench-hf: build
	"$$(bash scripts/setup-hf-venv.sh)/bin/python" bench/compare.py --bertwork target/release/bertwork $(ARGS)
	"$$(bash scripts/setup-hf-venv.sh)/bin/python" bench/compare.py --bertwork target/release/bertwork $(BF16_ARGS)

hf-fixture:
	rm -rf tests/fixtures/hf_tiny
	"$$(bash scripts/setup-hf-venv.sh)/bin/python" scripts/make_hf_fixture.py tests/fixtures/hf_tiny
