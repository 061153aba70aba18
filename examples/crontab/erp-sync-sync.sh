#!/usr/bin/env bash
# Runs one sync of an erp-sync integration through the cron endpoint and waits for it to finish.
#
#   erp-sync-sync.sh <integration-id>
#
# ERP_SYNC_URL      the server (default http://127.0.0.1:8000)
# CRON_SECRET_FILE  a file holding the server's CRON_SECRET (default /etc/erp-sync/cron-secret), or
# CRON_SECRET       the secret itself. It reaches curl on stdin, never on a command line that `ps` shows.
# ERP_SYNC_MAX_TIME seconds to wait for the run (default 3600)
#
# Exit status: 0 the run succeeded, or another run of the integration was in progress (409 SYNC_IN_PROGRESS:
# nothing to do, the next fire catches up); 1 the run failed (502 SYNC_FAILED), the server answered an error or
# could not be reached; 2 a configuration problem: wrong secret, unknown or inactive integration.
# Quiet on stdout except for one line per call; errors go to stderr, so cron mails only those.
set -euo pipefail

me=erp-sync-sync
if [ $# -ne 1 ] || [[ ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 <integration-id>" >&2
  exit 2
fi
id=$1
url=${ERP_SYNC_URL:-http://127.0.0.1:8000}

if [ -n "${CRON_SECRET_FILE:-}" ] || [ -z "${CRON_SECRET:-}" ]; then
  secret_file=${CRON_SECRET_FILE:-/etc/erp-sync/cron-secret}
  if [ ! -r "$secret_file" ]; then
    echo "$me: cannot read the cron secret from $secret_file (set CRON_SECRET_FILE or CRON_SECRET)" >&2
    exit 2
  fi
  secret=$(<"$secret_file")
else
  secret=$CRON_SECRET
fi
secret=${secret//[[:space:]]/}

body=$(mktemp)
trap 'rm -f "$body"' EXIT

# Not --fail-with-body: every status is handled below, and 409 SYNC_IN_PROGRESS is not a failure.
if ! status=$(printf 'X-Cron-Secret: %s\n' "$secret" |
  curl --silent --show-error --connect-timeout 10 --max-time "${ERP_SYNC_MAX_TIME:-3600}" \
    --header @- --header 'Content-Type: application/json' --data "{\"integrationId\": $id}" \
    --output "$body" --write-out '%{http_code}' "${url%/}/api/cron/sync-integration?wait=true"); then
  echo "$me: integration $id: no answer from $url" >&2
  exit 1
fi

# The envelope's first "code" is error.code (the failed run's own code comes later, under details).
code=$(grep -o '"code": *"[A-Z_]*"' "$body" | head -n 1 | cut -d '"' -f 4) || true

case $status in
  200)
    echo "$me: integration $id: run finished: $(grep -o '"status": *"[a-z_]*"' "$body" | head -n 1)"
    exit 0
    ;;
  409)
    if [ "$code" = SYNC_IN_PROGRESS ]; then
      echo "$me: integration $id: another run is in progress; skipped (the next fire catches up)"
      exit 0
    fi
    rc=2
    ;;
  400 | 401 | 403 | 404) rc=2 ;;
  *) rc=1 ;;
esac
echo "$me: integration $id: HTTP $status ${code:-(no error code)}" >&2
cat "$body" >&2
echo >&2
exit "$rc"
