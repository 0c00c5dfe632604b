# syntax=docker/dockerfile:1
#
# The WASIO server image.
#
#   docker build -t wasio .
#   docker run --read-only -p 8080:8080 -v "$PWD/site:/srv/wasio:ro" wasio
#
# The config file and the instruments live in /srv/wasio (config.json, plus whatever its
# relative paths name): mount a folder there, or bake one in with an image built FROM this
# one. See "Running in production" in README.md.
#
# Base: node:22-bookworm-slim, not alpine. The WASI host runs coreutils `touch` to set file
# times to the nanosecond (busybox's touch parses dates to whole seconds only), and the
# tests and CI run on Debian 12 with glibc: the image runs on the same libc and tools that
# were tested. Debian's slim image costs ~30 MB more than alpine, which buys that.
# test/deploy/dockerfile.test.ts checks this file against the server.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: every dependency, then the TypeScript compiler over src/ ------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# `prepare` would build before the sources are here; the build is its own step below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Only src/ is in the context, so tsconfig's other folders (test/, bench/, scripts/) match nothing.
RUN npx tsc -p tsconfig.json

# ---- production dependencies only -------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# The port is part of the image's contract (EXPOSE, HEALTHCHECK): it wins over the config
# file's `port`. Change it with `-e PORT=...` (and publish that port instead).
ENV PORT=8080
WORKDIR /app
COPY --from=deps /build/node_modules ./node_modules
COPY --from=build /build/dist/src ./dist/src
# package.json: the version `wasio --version` prints is read from it at run time.
COPY package.json ./
COPY schema ./schema
# Mount points exist in the image, so a read-only root filesystem needs nothing created at run
# time; `wasio` on PATH is for `docker exec ... wasio check` (tsc leaves its output unexecutable).
RUN mkdir -p /srv/wasio/instruments /srv/wasio/data \
    && chmod +x /app/dist/src/cli/main.js \
    && ln -s /app/dist/src/cli/main.js /usr/local/bin/wasio

# The `node` user of the base image, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080
# The server drains in-flight requests on SIGTERM and exits 0 within the longest route
# timeout + 5 s. `docker stop` waits only 10 s by default: give it `-t` (or compose's
# `stop_grace_period`) of at least that bound.
STOPSIGNAL SIGTERM
# No curl in the slim image: Node's own fetch. WASIO_HEALTHCHECK_URL replaces the URL (for
# TLS: https://localhost:8080/health, with NODE_EXTRA_CA_CERTS naming the CA if self-signed).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch(process.env.WASIO_HEALTHCHECK_URL||'http://127.0.0.1:'+(process.env.PORT||8080)+'/health',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
# A container is reached from outside itself: listen on every interface, not the config's default 127.0.0.1.
CMD ["serve", "--config", "/srv/wasio/config.json", "--host", "0.0.0.0"]
