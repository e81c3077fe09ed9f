#!/usr/bin/env bash
# Run WBCSD's PACT conformance tool (as its service, or its command-line runner) against Looptrace, served with
# DEBUG off behind a local nginx TLS proxy, for PACT 3.0 and 2.3. Not part of `make test` or CI.
#
#   PACT_TOOL_DIR=/path/to/pact-conformance-service make pact-conformance
#
# Needs: a checkout of https://github.com/wbcsd/pact-conformance-service (PACT_TOOL_DIR; it is
# copied to var/pact-conformance/tool and its npm dependencies installed there, the checkout is
# left untouched), Node.js >= 18 with npm, nginx (Debian: apt-get install nginx-light), openssl,
# PostgreSQL. The self-signed certificate is generated for each run in a temporary directory and
# never kept. The database PACT_CONFORMANCE_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/looptrace_pact_conformance; its name must contain
# "pact_conformance") is dropped and created afresh, migrated and loaded with the demo data.
#
# Options (environment): PACT_VERSIONS (default "V3.0 V2.3"), PACT_TLS_PORT (8443),
# PACT_APP_PORT (8093), PACT_WEBHOOK_URL (where the tool says it listens and Looptrace sends
# the answers to its requests; default https://127.0.0.1:9 -- the command-line runner has no
# listener, so the callback cases 13 and 14.B stay "pending" there), PACT_TEST_CASES (e.g. "1-12"),
# PACT_TESTCASE_TIMEOUT (ms per request, default 60000), PACT_CONFORMANCE_REUSE_DB=1 (keep the
# database and demo data of the previous run instead of reloading them).
#
# By default the tool runs as its service (its HTTP server on PACT_TOOL_PORT, default 8004, with
# its own PostgreSQL database PACT_TOOL_DATABASE_URL, default .../pact_conformance_tool, dropped
# and migrated afresh; its log in the run's temporary directory): Looptrace sends its answers to
# the tool's /2/events and /3/events, so the callback cases 13 and 14.B are checked too, and the
# script prints every case and exits non-zero unless every mandatory case passed.
# PACT_CONFORMANCE_CALLBACKS=0 runs the tool's command-line runner instead (no database of its
# own, but no listener: 13 and 14.B stay "pending").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PY:-$ROOT/.venv/bin/python}

: "${PACT_TOOL_DIR:?set PACT_TOOL_DIR to a checkout of wbcsd/pact-conformance-service}"
DB_URL=${PACT_CONFORMANCE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/looptrace_pact_conformance}
VERSIONS=${PACT_VERSIONS:-V3.0 V2.3}
TLS_PORT=${PACT_TLS_PORT:-8443}
APP_PORT=${PACT_APP_PORT:-8093}
WEBHOOK=${PACT_WEBHOOK_URL:-https://127.0.0.1:9}

for tool in node npm nginx openssl psql; do
    command -v "$tool" >/dev/null || { echo "pact-conformance: $tool is not installed" >&2; exit 2; }
done
DB_NAME=${DB_URL##*/}
case "$DB_NAME" in
    *pact_conformance*) ;;
    *) echo "pact-conformance: refusing to drop $DB_NAME (the name must contain pact_conformance)" >&2; exit 2 ;;
esac

step() { printf '\n==> %s\n' "$*"; }
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

step "the conformance tool (var/pact-conformance/tool)"
TOOL=$ROOT/var/pact-conformance/tool
mkdir -p "$TOOL" "$ROOT/var/pact-conformance"
cp -R "$PACT_TOOL_DIR"/. "$TOOL"/
rm -rf "$TOOL/.git"
if [ ! -d "$TOOL/node_modules" ]; then (cd "$TOOL" && npm ci --no-audit --no-fund); fi

export DATABASE_URL=$DB_URL DEBUG=0 SECURE_PROXY_SSL_HEADER_TRUSTED=1 SECURE_HSTS_SECONDS=0
export ALLOWED_HOSTS=localhost,127.0.0.1
unset CELERY_BROKER_URL || true
# The run's own secrets, kept under var/ (not committed) so PACT_CONFORMANCE_REUSE_DB=1 can
# reuse the database a previous run loaded.
KEYS=$ROOT/var/pact-conformance/keys
if [ "${PACT_CONFORMANCE_REUSE_DB:-0}" != 1 ] || [ ! -f "$KEYS" ]; then
    step "a fresh database: $DB_NAME (migrate, demo data, footprints issued)"
    psql "${DB_URL%/*}/postgres" -q -c "DROP DATABASE IF EXISTS \"$DB_NAME\"" -c "CREATE DATABASE \"$DB_NAME\""
    printf 'SECRET_KEY=%s\nKEY_ENCRYPTION_KEY=%s\n' "$(openssl rand -hex 32)" "$(openssl rand -hex 32)" >"$KEYS"
    chmod 600 "$KEYS"
    set -a && . "$KEYS" && set +a
    "$PY" manage.py migrate --noinput >/dev/null
    "$PY" manage.py seed_demo >/dev/null 2>&1
else
    step "reusing the database $DB_NAME"
    set -a && . "$KEYS" && set +a
fi
# Issue every PACT footprint now, not inside the tool's first request.
"$PY" manage.py shell -v 0 -c "from carbon.pact.services import footprints_issue; print(footprints_issue(), 'footprints issued')" 2>/dev/null

step "a PACT client: a regulator (it reads every footprint) with its partner host registered"
API_KEY=$("$PY" manage.py shell -v 0 -c "
from traceability.models import Organisation
from traceability.services import api_credential_create, organisation_create
org = Organisation.objects.filter(slug='pact-conformance').first() or organisation_create(
    slug='pact-conformance', name='PACT conformance tool', role='regulator')
print(api_credential_create(organisation=org)[1])" 2>/dev/null | tail -n 1)
CLIENT_ID=${API_KEY%%.*}
CLIENT_SECRET=${API_KEY#*.}
if [ "${PACT_CONFORMANCE_CALLBACKS:-1}" = 1 ]; then
    TOOL_PORT=${PACT_TOOL_PORT:-8004}
    TOOL_DB=${PACT_TOOL_DATABASE_URL:-${DB_URL%/*}/pact_conformance_tool}
    case "${TOOL_DB##*/}" in *pact_conformance*) ;; *) echo "pact-conformance: refusing to drop ${TOOL_DB##*/}" >&2; exit 2 ;; esac
    WEBHOOK=http://127.0.0.1:$TOOL_PORT
    # The service's own fixed callback credentials (its event handler accepts only these).
    "$PY" manage.py pact_partner register --org pact-conformance --base-url "$WEBHOOK" \
        --client-id test_client_id --client-secret test_client_secret
else
    "$PY" manage.py pact_partner register --org pact-conformance --base-url "$WEBHOOK" \
        --client-id conformance --client-secret "$(openssl rand -hex 16)"
fi

step "Looptrace on 127.0.0.1:$APP_PORT behind nginx TLS on https://localhost:$TLS_PORT"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 256; }
http {
    access_log $WORK/nginx-access.log;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$TLS_PORT ssl;
        server_name localhost;
        ssl_certificate $WORK/tls.crt;
        ssl_certificate_key $WORK/tls.key;
        location / {
            proxy_pass http://127.0.0.1:$APP_PORT;
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-For \$remote_addr;
        }
    }
}
EOF
"$ROOT/.venv/bin/gunicorn" config.wsgi -b "127.0.0.1:$APP_PORT" -w 2 --timeout 300 --log-level warning &
PIDS+=($!)
nginx -c "$WORK/nginx.conf" -p "$WORK"
for _ in $(seq 1 60); do
    curl -fsS -o /dev/null --cacert "$WORK/tls.crt" "https://localhost:$TLS_PORT/api/v1/health" && break
    sleep 1
done
curl -fsS --cacert "$WORK/tls.crt" "https://localhost:$TLS_PORT/api/v1/health" >/dev/null

status=0
if [ "${PACT_CONFORMANCE_CALLBACKS:-1}" = 1 ]; then
    step "the conformance service on $WEBHOOK (database ${TOOL_DB##*/})"
    psql "${TOOL_DB%/*}/postgres" -q -c "DROP DATABASE IF EXISTS \"${TOOL_DB##*/}\"" -c "CREATE DATABASE \"${TOOL_DB##*/}\""
    export NODE_EXTRA_CA_CERTS="$WORK/tls.crt" NODE_ENV=development PORT=$TOOL_PORT DB_CONNECTION_STRING=$TOOL_DB \
        CONFORMANCE_API=$WEBHOOK JWT_SECRET=$(openssl rand -hex 32) LOG_LEVEL=${PACT_LOG_LEVEL:-warn} \
        TESTCASE_TIMEOUT=${PACT_TESTCASE_TIMEOUT:-60000}
    (cd "$TOOL" && ./node_modules/.bin/ts-node ./src/data/migrate.ts latest >/dev/null)
    (cd "$TOOL" && exec ./node_modules/.bin/ts-node ./src/server.ts) >"$WORK/tool.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 60); do curl -fsS -o /dev/null "$WEBHOOK/health-check" 2>/dev/null && break; sleep 1; done
    for version in $VERSIONS; do
        step "conformance service, PACT $version"
        run=$(curl -fsS -X POST "$WEBHOOK/testruns/" -H "Content-Type: application/json" -d "{
            \"baseUrl\": \"https://localhost:$TLS_PORT\", \"version\": \"$version\",
            \"clientId\": \"$CLIENT_ID\", \"clientSecret\": \"$CLIENT_SECRET\",
            \"organizationName\": \"Looptrace\", \"adminEmail\": \"cli@example.com\", \"adminName\": \"CLI User\"}")
        id=$(printf '%s' "$run" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).testRunId))')
        sleep 5  # answers are sent after the request commits
        curl -fsS "$WEBHOOK/testruns/$id" | node -e '
            let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
                const run = JSON.parse(s), mark = {SUCCESS: "PASS", FAILURE: "FAIL", PENDING: "PENDING"};
                for (const r of run.results) console.log(`${mark[r.status] || r.status}\t${r.mandatory ? "mandatory" : "optional "}\t${r.name}${r.status === "FAILURE" ? "\n\t" + r.errorMessage : ""}`);
                const mandatory = run.results.filter(r => r.mandatory);
                const passed = mandatory.filter(r => r.status === "SUCCESS").length;
                console.log(`status ${run.status}: ${passed} of ${mandatory.length} mandatory test cases passed, ${run.results.length} in all`);
                process.exit(run.status === "PASS" ? 0 : 1);
            });' || status=$?
    done
    exit "$status"
fi
for version in $VERSIONS; do
    step "conformance tool, PACT $version"
    (
        cd "$TOOL"
        NODE_EXTRA_CA_CERTS="$WORK/tls.crt" NODE_ENV=development PORT=0 DB_CONNECTION_STRING=unused \
            CONFORMANCE_API="$WEBHOOK" LOG_LEVEL=${PACT_LOG_LEVEL:-info} TESTCASE_TIMEOUT=${PACT_TESTCASE_TIMEOUT:-60000} \
            npx ts-node ./src/scripts/run-tests-cli.ts --baseUrl "https://localhost:$TLS_PORT" \
            --clientId "$CLIENT_ID" --clientSecret "$CLIENT_SECRET" --version "$version" \
            --organizationName Looptrace ${PACT_TEST_CASES:+--testCases "$PACT_TEST_CASES"}
    ) || status=$?
done
exit "$status"
