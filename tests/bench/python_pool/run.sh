#!/usr/bin/env bash
# The Python pool benchmark (issue 15): Oxbeam.Python.Pool against Oxbeam.Python in
# process and the Port worker of tests/bench/python, release build, in the test
# environment of elixir/oxbeam_python. Writes the docs/benchmarks.md section to $1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: run.sh OUT.md}
table=$(mktemp)
trap 'rm -f "$table"' EXIT
load=$(cut -d' ' -f1-3 /proc/loadavg)
(cd "$here/../../../elixir/oxbeam_python" &&
  OXBEAM_MODE=release MIX_ENV=test mix run ../../tests/bench/python_pool/run.exs "$table" >&2)
[ -s "$table" ] || { echo "bench: the Python pool runner produced no table" >&2; exit 1; }
{
  cat "$here/header.md"
  printf '\nMeasured %s with `scripts/bench` (release build), on %s cores; load average when it started: %s.\n\n' \
    "$(date -u +%Y-%m-%d)" "$(nproc)" "$load"
  cat "$table"
  printf '\n'
  cat "$here/notes.md"
} > "$out"
