#!/usr/bin/env bash
# Installs the Debian packages the tests start for real (Prometheus + promtool, Alertmanager + amtool, wrk for
# the benchmark's smoke run), only when they are missing. Works as root or through sudo.
set -euo pipefail
missing=0
for bin in prometheus promtool prometheus-alertmanager amtool wrk; do
  command -v "$bin" >/dev/null 2>&1 || missing=1
done
[ "$missing" -eq 0 ] && exit 0
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run apt-get update -qq
run apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager wrk >/dev/null
