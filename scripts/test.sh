#!/usr/bin/env bash
# The one gate (STYLE.md habit 11): type check, lint and format check, then every test file.
# Usage: npm test [-- test/file.test.ts …] runs only the named files after the checks.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent typecheck
npm run --silent lint
# A read loop rather than mapfile, which macOS's bash 3.2 lacks.
files=("$@")
if [ "$#" -eq 0 ]; then
  while IFS= read -r file; do files+=("$file"); done < <(find test -name '*.test.ts' | sort)
fi
exec node --import tsx --test --test-reporter=spec "${files[@]}"
