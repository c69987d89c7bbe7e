#!/usr/bin/env bash
# The servers the service's scale-out tests use: Debian's PostgreSQL and Redis, started as root.
#   .ci/services.sh install   apt-get install them
#   .ci/services.sh start     start them; a database `grader_test` owned by `grader` (password
#                             `grader`) on 127.0.0.1:5432, Redis on 127.0.0.1:6399
#   .ci/services.sh stop      stop what `start` started
# The tests read GRADER_TEST_POSTGRES and GRADER_TEST_REDIS, defaulting to those addresses.
set -euo pipefail
REDIS_PORT=6399
STATE=/tmp/grader-ci-services
case "${1:-}" in
install)
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null
    ;;
start)
    mkdir -p "$STATE"
    read -r version cluster _ < <(pg_lsclusters -h | head -1) || true
    if [ -z "${version:-}" ]; then
        version=$(ls /usr/lib/postgresql | sort -V | tail -1)
        cluster=main
        pg_createcluster "$version" "$cluster" >/dev/null
    fi
    if ! pg_lsclusters -h | grep -q "^$version *$cluster .*online"; then
        pg_ctlcluster "$version" "$cluster" start
        echo "$version $cluster" > "$STATE/postgres"
    fi
    su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'grader') THEN
    CREATE ROLE grader LOGIN PASSWORD 'grader' CREATEDB;
  END IF;
END $$;
SQL
    su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='grader_test'\"" | grep -q 1 \
        || su postgres -c "createdb -O grader grader_test"
    if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize yes --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log"
        for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    fi
    ;;
stop)
    if [ -f "$STATE/redis.pid" ]; then
        kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true
        rm -f "$STATE/redis.pid"
    fi
    if [ -f "$STATE/postgres" ]; then
        read -r version cluster < "$STATE/postgres"
        pg_ctlcluster "$version" "$cluster" stop || true
        rm -f "$STATE/postgres"
    fi
    ;;
*)
    echo "usage: $0 install|start|stop" >&2
    exit 2
    ;;
esac
