# The two commands a newcomer needs:
#   make run    opens bertwork on the embedded IMDB sample (ARGS="..." passes options)
#   make test   runs the whole test suite
# Both install libtorch on first use (scripts/setup-libtorch.sh, cached per user).

.PHONY: run test setup build

setup:
	@bash scripts/setup-libtorch.sh

build: setup
	cargo build --release

run: setup
	cargo run --release --quiet -- $(ARGS)

test: setup
	@command -v tmux >/dev/null || apt-get install -y -qq tmux >/dev/null 2>&1 || echo "warning: tmux is missing; the workbench end-to-end test needs it"
	cargo test --quiet
