#!/usr/bin/env bash
# The one gate (STYLE.md habit 11): type check, lint and format check, then every test file.
# Usage: npm test [-- test/file.test.ts …] runs only the named files after the checks.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent typecheck
npm run --silent lint
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
exec node --import tsx --test --test-reporter=spec "${files[@]}"
