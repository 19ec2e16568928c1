#!/bin/sh
# Start Redis with the password from REDIS_PASSWORD, kept in a 0600 file (never on the
# command line, where `ps` would show it).
set -eu
: "${REDIS_PASSWORD:?set REDIS_PASSWORD (compose reads it from .env)}"
umask 077
conf=$(mktemp)
printf 'bind * -::*\nprotected-mode no\nport 6379\nsave ""\nappendonly no\ndir /var/lib/redis\nrequirepass "%s"\n' \
    "$REDIS_PASSWORD" >"$conf"
exec redis-server "$conf" "$@"
