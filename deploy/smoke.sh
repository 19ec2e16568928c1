#!/usr/bin/env bash
# Smoke test of the container deploy, with Podman, on a Debian machine that reaches the
# package registries but no image registry:
#
#   1. installs what it needs when missing (podman, runc, debootstrap; podman-compose from
#      PyPI into a virtual environment) and sets runtime = "runc" and lowered
#      default_ulimits in /etc/containers/containers.conf;
#   2. makes the base image debian:bookworm-slim locally when it is missing or stale
#      (debootstrap --variant=minbase from the machine's apt mirror, with the machine's
#      extra CA certificates so pip and npm inside builds trust the registries, then
#      podman import; the image stays on this machine);
#   3. validates compose.yaml, builds the images and brings the compose stack up, then
#      checks: both replicas healthy (/health and the image's health check), the image runs
#      as non-root, a push through replica A reaches a WebSocket client on replica B,
#      again after `podman-compose restart`, and `claude --version` and
#      `ccusage --version` inside; the single-container (supervisor) variant prints its
#      admin token once and comes back healthy after its ccsync process is killed;
#   4. tears everything down (containers, volumes, networks and their firewall rules),
#      keeping the images as the next run's build cache.
#
# Runs as root (through sudo when started as another user). Host ports:
# SMOKE_PORTS (default "3801 3802 3803"), on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$SECONDS

# Root for apt, /etc/containers and rootful Podman: as root already, or through sudo.
if [ "$(id -u)" -ne 0 ]; then
    exec sudo --preserve-env=SMOKE_PORTS,SMOKE_TOOLS_DIR,PIP_INDEX_URL,npm_config_registry \
        bash "$ROOT/deploy/smoke.sh" "$@"
fi
read -r PORT_A PORT_B PORT_S <<<"${SMOKE_PORTS:-3801 3802 3803}"
PROJECT=ccsync-smoke
SINGLE=ccsync-smoke-single
TOOLS=${SMOKE_TOOLS_DIR:-/var/lib/ccsync-smoke}
WORK=$(mktemp -d)

log() { printf '[smoke %4ss] %s\n' "$((SECONDS - START))" "$*" >&2; }
fail() {
    log "FAIL: $*"
    exit 1
}
compose() { "$COMPOSE" --project-name "$PROJECT" --file "$ROOT/compose.yaml" --env-file "$WORK/env" "$@"; }

# --- 1. tools and configuration ------------------------------------------------------------
setup_tools() {
    local missing=()
    type -P podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -q >/dev/null
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
    fi
    if ! python3 - /etc/containers/containers.conf <<'PY' 2>/dev/null; then
import sys, tomllib
conf = tomllib.load(open(sys.argv[1], "rb"))
limits = " ".join(conf.get("containers", {}).get("default_ulimits", []))
sys.exit(conf.get("engine", {}).get("runtime") != "runc" or "nofile=" not in limits or "nproc=" not in limits)
PY
        if [ -s /etc/containers/containers.conf ]; then
            cp /etc/containers/containers.conf "/etc/containers/containers.conf.before-ccsync-smoke"
            log "saved the former /etc/containers/containers.conf as containers.conf.before-ccsync-smoke"
        fi
        log "setting runtime = \"runc\" and lowered default_ulimits in /etc/containers/containers.conf"
        # crun refuses cgroups in hybrid mode (v1 controllers beside cgroup2); a VM without
        # CAP_SYS_RESOURCE cannot raise rlimits to Podman's root defaults.
        mkdir -p /etc/containers
        cat >/etc/containers/containers.conf <<'CONF'
# Written by ccsync deploy/smoke.sh
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]

[engine]
runtime = "runc"
CONF
    fi
    if command -v podman-compose >/dev/null; then
        COMPOSE=$(command -v podman-compose)
    else
        COMPOSE=$TOOLS/venv/bin/podman-compose
        if [ ! -x "$COMPOSE" ]; then
            log "installing podman-compose into $TOOLS/venv"
            python3 -m venv "$TOOLS/venv"
            "$TOOLS/venv/bin/pip" install -q 'podman-compose==1.6.0' >"$WORK/pip.log" 2>&1 ||
                { cat "$WORK/pip.log" >&2; fail "pip install podman-compose"; }
        fi
    fi
    log "$(command podman --version), $(runc --version | head -n1), $("$COMPOSE" --version 2>/dev/null | grep -i 'podman-compose' | head -n1)"
}

# --- 2. the base image -----------------------------------------------------------------------
host_ca_digest() {
    cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -d' ' -f1
}

make_base_image() {
    local want have
    want=$(host_ca_digest)
    if podman image exists localhost/debian:bookworm-slim; then
        have=$(podman run --rm --network=none localhost/debian:bookworm-slim \
            sh -c 'cat /usr/local/share/ca-certificates/*.crt 2>/dev/null' | sha256sum | cut -d' ' -f1)
        [ "$have" = "$want" ] && return 0
        log "the base image's CA certificates differ from this machine's: making it again"
    elif podman image exists debian:bookworm-slim; then
        return 0 # a base image from elsewhere (an image registry): use it as it is
    fi
    local mirror security rootfs
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || fail "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    security=$(awk '/^URIs:/ && /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$security" ] || security=${mirror%/debian}/debian-security
    rootfs=$WORK/rootfs
    log "making the base image: debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
    printf '%s\n' "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
        "deb $security bookworm-security main" >"$rootfs/etc/apt/sources.list"
    # This machine's extra CA certificates (registries' TLS may be re-signed by them): any
    # `apt-get install ca-certificates` in a build then trusts them. Local to this machine.
    mkdir -p "$rootfs/usr/local/share/ca-certificates"
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    fi
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/tmp/*
    : >"$rootfs/etc/resolv.conf"
    : >"$rootfs/etc/hostname"
    tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - localhost/debian:bookworm-slim >/dev/null
    rm -rf "$rootfs"
    log "base image localhost/debian:bookworm-slim made"
}

# --- 4. teardown -------------------------------------------------------------------------------
teardown() {
    local code=$?
    set +e
    if [ -n "${COMPOSE:-}" ] && [ -f "$WORK/env" ]; then
        [ "$code" -eq 0 ] || compose logs --tail 40 >&2 2>/dev/null
        compose down --volumes --timeout 5 >/dev/null 2>&1
    fi
    if type -P podman >/dev/null; then
        [ "$code" -eq 0 ] || podman logs --tail 40 "$SINGLE" >&2 2>/dev/null
        podman rm --force --volumes --time 5 "$SINGLE" >/dev/null 2>&1
        podman volume rm --force "$SINGLE-data" >/dev/null 2>&1
        podman network rm --force "${PROJECT}_default" >/dev/null 2>&1
        podman image prune --force >/dev/null 2>&1
        drop_netavark_rules
    fi
    rm -rf "$WORK"
    if [ "$code" -eq 0 ]; then
        log "PASS ($((SECONDS - START)) s)"
    else
        log "FAILED (exit $code) after $((SECONDS - START)) s; everything was torn down"
    fi
    exit "$code"
}

delete_rule() { # table, a rule's words as `iptables -S` prints them (quoted where needed)
    local table=$1
    eval "set -- $2"
    iptables -t "$table" -D "$@" 2>/dev/null
}

# Netavark leaves its base chains behind once the last bridge network is gone; remove them
# when no container of this machine still runs (so nothing of anyone else's is touched).
drop_netavark_rules() {
    [ -z "$(podman ps --quiet)" ] || return 0
    command -v iptables >/dev/null || return 0
    local table chain
    for table in nat filter; do
        for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(NETAVARK|CNI)/ {print $2}'); do
            iptables -t "$table" -S 2>/dev/null | awk -v c="$chain" '$1 == "-A" && $0 ~ ("-j " c "( |$)") && $2 != c' |
                while read -r _ rule; do delete_rule "$table" "$rule"; done
            iptables -t "$table" -F "$chain" 2>/dev/null
        done
        for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(NETAVARK|CNI)/ {print $2}'); do
            iptables -t "$table" -X "$chain" 2>/dev/null
        done
    done
}

# --- 3. build, run, check -----------------------------------------------------------------------
container_of() { podman ps --quiet --filter "label=io.podman.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" | head -n1; }

wait_healthy() { # URL, seconds
    local deadline=$((SECONDS + $2))
    until curl -fsS --max-time 3 -o /dev/null "$1" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || { curl -sS --max-time 3 "$1" >&2 || true; return 1; }
        sleep 1
    done
}

wait_backends() { # redis and postgres healthy, by their images' own health checks
    local service deadline
    for service in redis postgres; do
        deadline=$((SECONDS + 60))
        until podman healthcheck run "$(container_of "$service")" >/dev/null 2>&1; do
            [ "$SECONDS" -lt "$deadline" ] || fail "$service not healthy"
            sleep 1
        done
    done
}

started_at() { # one line per container of the project: name and start time, sorted
    podman ps --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}} {{.StartedAt}}' | sort
}

check_health() { # container: run the image's health check inside, as podman does
    podman healthcheck run "$1" >/dev/null || fail "podman healthcheck run $1 did not pass"
}

ws_check() { # label: a push through replica A reaches a WebSocket client on replica B
    local out
    out=$(podman exec -i "$(container_of ccsync-b)" python - \
        http://ccsync-a:3000 ws://ccsync-b:3000/ws "smoke-$1" <"$ROOT/deploy/smoke_check.py") ||
        fail "push through replica A did not reach a WebSocket client on replica B ($1)"
    log "$1: $out"
}

# The service files: systemd units through `systemd-analyze verify` (any output fails: it
# only warns about unknown keys), the launchd agent through plutil or plistlib.
check_service_files() {
    local root=$WORK/units out
    mkdir -p "$root/opt/ccsync/bin" "$root/home/.local/bin" "$root/run"
    chmod 700 "$root/run"
    printf '#!/bin/sh\n' >"$root/opt/ccsync/bin/ccsync"
    chmod 755 "$root/opt/ccsync/bin/ccsync"
    cp "$root/opt/ccsync/bin/ccsync" "$root/home/.local/bin/ccsync"
    if type -P systemd-analyze >/dev/null; then
        # ExecStart's program must exist: a stand-in at the documented path, under $root.
        sed "s#/opt/ccsync/bin/ccsync#$root/opt/ccsync/bin/ccsync#" deploy/systemd/ccsync.service >"$root/ccsync.service"
        out=$(systemd-analyze verify "$root/ccsync.service" 2>&1) || out="$out (exit $?)"
        [ -z "$out" ] || fail "systemd-analyze verify ccsync.service: $out"
        out=$(HOME=$root/home XDG_RUNTIME_DIR=$root/run systemd-analyze --user verify \
            deploy/systemd/ccsync-agent.service 2>&1) || out="$out (exit $?)"
        [ -z "$out" ] || fail "systemd-analyze --user verify ccsync-agent.service: $out"
    else
        log "systemd-analyze is not installed: unit files not verified"
    fi
    if type -P plutil >/dev/null; then
        plutil -lint deploy/launchd/com.ccsync.agent.plist >/dev/null || fail "plutil -lint"
    fi
    python3 - deploy/launchd/com.ccsync.agent.plist <<'PY' || fail "the launchd plist"
import plistlib, sys
agent = plistlib.load(open(sys.argv[1], "rb"))
assert isinstance(agent["Label"], str) and agent["Label"] in sys.argv[1], "Label"
assert agent["ProgramArguments"] and all(isinstance(a, str) for a in agent["ProgramArguments"]), "ProgramArguments"
assert agent["RunAtLoad"] is True and agent["KeepAlive"] is True, "RunAtLoad/KeepAlive"
PY
    log "service files: systemd units verified, launchd plist well-formed"
}

main() {
    trap teardown EXIT
    setup_tools
    check_service_files
    make_base_image

    log "validating compose.yaml (podman-compose config)"
    {
        echo "CCSYNC_ADMIN_TOKEN=ccs_smoke$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        echo "POSTGRES_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        echo "REDIS_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        echo "CCSYNC_PORT_A=$PORT_A"
        echo "CCSYNC_PORT_B=$PORT_B"
    } >"$WORK/env"
    chmod 600 "$WORK/env"
    compose config >"$WORK/compose.resolved.yaml" 2>"$WORK/config.err" ||
        { cat "$WORK/config.err" >&2; fail "podman-compose config"; }

    # Builds use the host's network (no firewall rules for them) and the docker format
    # (OCI images have no HEALTHCHECK); a package index the host's pip or npm is told
    # about through the environment is passed on. Redis and PostgreSQL build meanwhile.
    local build_args=(--network=host --format=docker --jobs=2)
    [ -z "${PIP_INDEX_URL:-}" ] || build_args+=(--build-arg PIP_INDEX_URL)
    [ -z "${npm_config_registry:-}" ] || build_args+=(--build-arg npm_config_registry)
    log "building images"
    compose --podman-build-args "--network=host --format=docker" build redis postgres >"$WORK/build-services.log" 2>&1 &
    local services_build=$!
    podman build "${build_args[@]}" --target server -t localhost/ccsync:latest . >"$WORK/build.log" 2>&1 ||
        { tail -n 40 "$WORK/build.log" >&2; fail "podman build (server)"; }
    podman build "${build_args[@]}" --target supervisor -t localhost/ccsync-single:latest . >>"$WORK/build.log" 2>&1 ||
        { tail -n 40 "$WORK/build.log" >&2; fail "podman build (supervisor)"; }
    # The build stages get tags of their own (cached: no work), so that pruning dangling
    # images at the end keeps them as the next build's cache.
    local stage
    for stage in python-build node-build; do
        podman build "${build_args[@]}" --target "$stage" -t "localhost/ccsync-cache:$stage" . >>"$WORK/build.log" 2>&1 ||
            { tail -n 40 "$WORK/build.log" >&2; fail "podman build ($stage)"; }
    done
    wait "$services_build" || { tail -n 40 "$WORK/build-services.log" >&2; fail "podman-compose build redis postgres"; }
    log "images: $(podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep ccsync | grep -v ccsync-cache | paste -sd, -)"

    # Podman before 4.6 ignores `condition: service_healthy` (podman-compose says so), and
    # without systemd nothing runs health checks on a timer: gate the start here, with the
    # images' own health checks, as Docker does from compose.yaml.
    log "compose up: redis, postgres"
    compose up -d redis postgres >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; fail "podman-compose up redis postgres"; }
    wait_backends
    log "compose up: the replicas (redis and postgres healthy)"
    compose up -d >>"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; fail "podman-compose up"; }
    wait_healthy "http://127.0.0.1:$PORT_A/health" 120 || fail "replica A not healthy"
    wait_healthy "http://127.0.0.1:$PORT_B/health" 120 || fail "replica B not healthy"
    local a b
    a=$(container_of ccsync-a)
    b=$(container_of ccsync-b)
    check_health "$a"
    check_health "$b"
    log "both replicas healthy: $(curl -fsS "http://127.0.0.1:$PORT_A/health" | head -c 120)"

    local uid
    uid=$(podman exec "$a" id -u)
    [ "$uid" != 0 ] || fail "the server runs as root"
    [ "$(podman image inspect --format '{{.Config.User}}' localhost/ccsync:latest)" = ccsync ] || fail "the image's USER is not ccsync"
    podman image inspect --format '{{json .Config.Healthcheck}}' localhost/ccsync:latest | grep -q ccsync-healthcheck ||
        fail "the image has no HEALTHCHECK"
    log "runs as uid $uid; image health check: $(podman image inspect --format '{{json .Config.Healthcheck.Test}}' localhost/ccsync:latest)"

    local claude ccusage
    claude=$(podman exec "$a" claude --version) || fail "claude --version"
    ccusage=$(podman exec "$a" ccusage --version) || fail "ccusage --version"
    log "inside: claude $claude; ccusage $ccusage"

    ws_check before-restart
    # podman-compose restarts every container at once, which races Podman's dependency
    # check ("some dependencies ... are not started") and leaves some running: restart the
    # backends, then the replicas, and check that each container really started again.
    local started_before started_after
    started_before=$(started_at)
    log "podman-compose restart redis postgres, then ccsync-a ccsync-b"
    compose restart redis postgres >"$WORK/restart.log" 2>&1 || { cat "$WORK/restart.log" >&2; fail "podman-compose restart redis postgres"; }
    wait_backends
    compose restart ccsync-a ccsync-b >>"$WORK/restart.log" 2>&1 || { cat "$WORK/restart.log" >&2; fail "podman-compose restart ccsync-a ccsync-b"; }
    wait_healthy "http://127.0.0.1:$PORT_A/health" 120 || fail "replica A not healthy after restart"
    wait_healthy "http://127.0.0.1:$PORT_B/health" 120 || fail "replica B not healthy after restart"
    started_after=$(started_at)
    [ -n "$(comm -12 <(echo "$started_before") <(echo "$started_after"))" ] &&
        fail "not every container restarted: $(comm -12 <(echo "$started_before") <(echo "$started_after") | paste -sd' ' -)"
    ws_check after-restart
    compose down --volumes --timeout 5 >/dev/null 2>&1

    log "single container (supervisor): start"
    podman run -d --name "$SINGLE" -p "127.0.0.1:$PORT_S:3000" -v "$SINGLE-data:/data" \
        localhost/ccsync-single:latest >/dev/null
    wait_healthy "http://127.0.0.1:$PORT_S/health" 90 || fail "the supervisor variant is not healthy"
    check_health "$SINGLE"
    [ "$(podman logs "$SINGLE" 2>&1 | grep -c 'Admin token (shown once')" = 1 ] ||
        fail "the supervisor variant did not print its generated admin token once"
    local token pid1 pid2
    token=$(podman exec "$SINGLE" cat /data/ccsync/admin-token)
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT_S/api/status" ||
        fail "the generated admin token is not accepted"
    pid1=$(podman exec "$SINGLE" supervisorctl -c /etc/supervisor/ccsync.conf pid ccsync)
    log "killing ccsync (pid $pid1) inside the single container"
    podman exec "$SINGLE" sh -c 'kill -KILL "$1"' sh "$pid1"
    sleep 1
    wait_healthy "http://127.0.0.1:$PORT_S/health" 60 || fail "supervisor did not bring ccsync back"
    pid2=$(podman exec "$SINGLE" supervisorctl -c /etc/supervisor/ccsync.conf pid ccsync)
    [ "$pid2" != "$pid1" ] || fail "ccsync has the same pid after the kill"
    [ "$(podman logs "$SINGLE" 2>&1 | grep -c 'Admin token (shown once')" = 1 ] ||
        fail "the admin token was shown again after the restart"
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT_S/api/status" ||
        fail "the admin token did not survive the restart"
    log "supervisor restarted ccsync (pid $pid1 -> $pid2), healthy again, same admin token"
}

main "$@"
