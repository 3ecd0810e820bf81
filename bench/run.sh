#!/usr/bin/env bash
# `npm run bench`: build the production service, compile the harness, run it (about 4–5 minutes).
# Writes bench/RESULTS.md and prints it. Needs wrk and taskset (Debian: wrk, util-linux). Extra arguments go to
# the harness (`--smoke` for toy sizes, `--out <file>`).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk taskset; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required (apt-get install $tool)" >&2; exit 2; }
done
npm run --silent build
npx tsc -p bench/tsconfig.json
# The harness itself runs on the load core, away from the service's core 0.
core=$(( $(nproc) > 1 ? 1 : 0 ))
exec taskset -c "$core" node dist/bench/run.js "$@"
