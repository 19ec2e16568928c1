#!/bin/sh
# Make the cluster on first start (the superuser POSTGRES_USER with POSTGRES_PASSWORD,
# the database POSTGRES_DB), then run PostgreSQL: password (SCRAM) logins over the
# network, the local socket for the health check only.
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (compose reads it from .env)}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    umask 077
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 \
        --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        # A server on a private socket only, so the health check (on the usual socket)
        # does not pass before the real one runs.
        socket=$(mktemp -d)
        pg_ctl --pgdata="$PGDATA" --wait --silent \
            -o "-c listen_addresses='' -c unix_socket_directories=$socket" start
        createdb --host="$socket" --username="$user" "$db"
        pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
        rmdir "$socket"
    fi
    echo "postgres-entrypoint: made the cluster in $PGDATA (user $user, database $db)"
fi
exec postgres -c listen_addresses='*' "$@"
