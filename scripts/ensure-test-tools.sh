#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages, when it is missing: PostgreSQL server binaries
# (the tests start their own cluster in a temp folder) and Debian's Chromium at /usr/bin/chromium (the console's
# browser test drives it with Playwright; no browser is downloaded). Debian packages; needs root or sudo.
set -euo pipefail

have_postgres() {
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && return 0; done
  command -v initdb >/dev/null 2>&1
}

missing=()
have_postgres || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)  # fonts: Greek text in the screenshots

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing test prerequisites: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
