#!/usr/bin/env bash
# Makes sure what `make test` needs beyond Go is on the machine: Chromium for
# the end-to-end tests. On Debian as root it installs it; elsewhere it stops
# with one line saying what to install.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "${ERHVERV_CHROMIUM:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing Chromium from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q chromium >/dev/null
  command -v chromium >/dev/null && exit 0
fi
echo "make test needs Chromium for the end-to-end tests: install it (Debian: apt-get install chromium) or set ERHVERV_CHROMIUM to its path" >&2
exit 1
