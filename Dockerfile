# ccsync server image: the server, Claude Code and ccusage, run as a non-root user.
#
#   docker build -t ccsync .                      # the server (this file's last stage)
#   docker build --target supervisor -t ccsync-single .   # one container: supervisor + Redis + ccsync
#   docker run -d -p 127.0.0.1:3000:3000 -v ccsync-data:/data ccsync
#   docker logs <container>                       # the admin token, printed once on first start
#   docker exec -it <container> claude auth login # logs the scheduler's `claude -p` in
#
# Everything the server keeps lives on the /data volume: the SQLite history and the admin
# token (/data/ccsync), and Claude Code's login and transcripts (/data/claude), so a
# login survives restarts and upgrades. Build arguments PIP_INDEX_URL and
# npm_config_registry pass a package index through when the build machine needs one.

# --- Python: a virtual environment with ccsync and its Redis and PostgreSQL drivers -----
FROM debian:bookworm-slim AS python-build
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/ccsync
ARG PIP_INDEX_URL
# Dependencies first, read from pyproject.toml alone: this layer is rebuilt when that
# file changes, not on every source edit.
COPY pyproject.toml /src/pyproject.toml
RUN python3 -c 'import tomllib; p = tomllib.load(open("/src/pyproject.toml", "rb"))["project"]; \
extras = p["optional-dependencies"]; \
print("\n".join(p["dependencies"] + extras["redis"] + extras["postgres"]))' > /tmp/requirements.txt \
 && /opt/ccsync/bin/pip install -r /tmp/requirements.txt
COPY README.md /src/README.md
COPY src /src/src
RUN /opt/ccsync/bin/pip install '/src[all]' \
 && /opt/ccsync/bin/ccsync --version

# --- Node.js: Claude Code (for the scheduler's `claude -p` jobs) and ccusage -------------
FROM debian:bookworm-slim AS node-build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ARG npm_config_registry
ARG CLAUDE_CODE_VERSION=2.1.332
ARG CCUSAGE_VERSION=20.0.24
# Claude Code's native binary comes in an optional package per platform; npm installs the
# musl builds beside the glibc ones (about 400 MB each), and Debian needs only glibc's.
RUN npm install --global --prefix /opt/node --omit=dev --no-fund --no-audit --no-update-notifier \
        "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" "ccusage@${CCUSAGE_VERSION}" \
 && npm cache clean --force \
 && rm -rf /opt/node/lib/node_modules/@anthropic-ai/claude-code/node_modules/@anthropic-ai/claude-code-*-musl \
 && /opt/node/bin/claude --version && /opt/node/bin/ccusage --version

# --- What both runnable images share --------------------------------------------------------
FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 nodejs ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /bin/bash ccsync \
 && install -d -o ccsync -g ccsync -m 0700 /data /data/ccsync /data/claude
COPY --from=python-build /opt/ccsync /opt/ccsync
COPY --from=node-build /opt/node /opt/node
COPY deploy/healthcheck.py /usr/local/bin/ccsync-healthcheck
ENV PATH=/opt/ccsync/bin:/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/data \
    CCSYNC_DATA_DIR=/data/ccsync \
    CLAUDE_CONFIG_DIR=/data/claude \
    DISABLE_AUTOUPDATER=1 \
    CCSYNC_ENV=production \
    PORT=3000 \
    PYTHONDONTWRITEBYTECODE=1
VOLUME ["/data"]
WORKDIR /data
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["ccsync-healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--"]

# --- Single container, as the original service shipped: supervisor runs Redis and ccsync --
FROM runtime AS supervisor
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends supervisor redis-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /etc/supervisor/conf.d
COPY deploy/supervisord.conf /etc/supervisor/ccsync.conf
USER ccsync
ENV REDIS_URL=redis://127.0.0.1:6379/0
CMD ["supervisord", "--nodaemon", "--configuration", "/etc/supervisor/ccsync.conf"]

# --- The server (the default target) --------------------------------------------------------
FROM runtime AS server
USER ccsync
CMD ["ccsync", "serve", "--host", "0.0.0.0"]
