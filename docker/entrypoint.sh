#!/usr/bin/env bash
# The image's entry point. No arguments, or only options: migrate the database, then serve on 0.0.0.0:8000 (the
# options go to `erp-sync serve`, e.g. --threads 16). Any other command runs as given, without migrating:
# `erp-sync scheduler`, `erp-sync run 7`, `bash`.
set -euo pipefail

case ${1:-} in
  "" | -*)
    erp-sync db upgrade
    exec erp-sync serve --host 0.0.0.0 --port 8000 "$@"
    ;;
esac
exec "$@"
