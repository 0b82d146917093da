#!/usr/bin/env bash
# The serde benchmark rows (SerdeTerm<T> against the derive, release build): prints a
# markdown table; with an argument, also writes it to that file.
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="$PWD/tests/bench/target"
cargo build --quiet --release --manifest-path tests/bench/serde_nif/Cargo.toml
elixir tests/bench/serde/run.exs "$CARGO_TARGET_DIR/release/libbench_serde_nif.so" "$@"
