# talk2me, CPU image. Dockerfile.cuda is the CUDA variant; both keep the same runtime contract (user,
# volume, port, environment, healthcheck, stop signal, entrypoint), which test/deploy/dockerfiles.test.ts
# holds together.
#
#   docker build -t talk2me .
#   docker run -p 5005:5005 -v talk2me-models:/app/models talk2me
#
# With podman, build with --format docker: the OCI image format has no HEALTHCHECK.
# BASE is any Debian bookworm image with Node 20 at /usr/local/bin (the public node image by
# default; CI passes the one scripts/container-base.sh makes where no registry is reachable).
ARG BASE=docker.io/library/node:20-bookworm-slim

# Production dependencies only, installed apart from the build so nothing built or fetched for
# the build reaches the image. cmake-js, node-addon-api, node-api-headers and nodejs-whisper (the
# pinned whisper.cpp source) are dependencies because `npm install` builds the addon; a built
# image never runs them.
FROM ${BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm uninstall --no-save --omit=dev --ignore-scripts --no-audit --no-fund \
      cmake-js node-addon-api node-api-headers nodejs-whisper \
 && npm cache clean --force

# The addon and the JavaScript. Layers go from the slowest and least often changed (the toolchain,
# whisper.cpp) to the quickest, so a change to src/ or web/ rebuilds neither.
FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake g++ make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY CMakeLists.txt ./
COPY native/ native/
COPY vendor/prepare.mjs vendor/
COPY scripts/build-native.mjs scripts/
# Portable: ggml for a common CPU baseline, not the build machine's (-march=native).
ENV TALK2ME_PORTABLE=1
# cmake-js builds on one core unless told; CMAKE_BUILD_PARALLEL_LEVEL is cmake's own knob.
RUN CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" npm run build:native
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
COPY web/ web/
RUN npm run build

FROM ${BASE} AS runtime
# ffmpeg decodes uploads that are not plain WAV; libgomp1 is the OpenMP runtime ggml's CPU backend uses.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg libgomp1 \
 && rm -rf /var/lib/apt/lists/*
# A fixed, non-root UID, so a bind-mounted model directory can be given to it (chown 10001).
RUN groupadd --system --gid 10001 talk2me \
 && useradd --system --uid 10001 --gid talk2me --home-dir /app --no-create-home --shell /usr/sbin/nologin talk2me
WORKDIR /app
# The application stays root's and read-only to the server; it writes only the model volume and
# UPLOAD_DIR (under /tmp).
COPY --from=deps /app/node_modules node_modules/
COPY --from=build /src/dist dist/
COPY --from=build /src/web/dist web/dist/
COPY --from=build /src/build/Release/talk2me.node build/Release/
COPY package.json ./
RUN mkdir -p /app/models && chown talk2me:talk2me /app/models

# Configuration is the environment (README, Configuration). The image's own defaults:
# - HOST 0.0.0.0: reachable through a published port. A non-loopback bind turns the Host check
#   off unless ALLOWED_HOSTS is set; when it is, list 127.0.0.1 too, or the HEALTHCHECK gets 421.
# - LOG_FILE off: pino's JSON lines go to stdout only, for the container runtime to collect.
# - SHUTDOWN_TIMEOUT_S 8: drains within the 10 s that docker stop and podman stop wait before
#   SIGKILL; raise it together with the stop timeout (--stop-timeout, terminationGracePeriodSeconds).
# WHISPER_MODEL keeps its default, models/ggml-tiny.en.bin, i.e. /app/models: downloaded there on
# first start when missing and the container can reach Hugging Face.
ENV HOST=0.0.0.0 \
    PORT=5005 \
    LOG_FILE=off \
    SHUTDOWN_TIMEOUT_S=8
VOLUME ["/app/models"]
EXPOSE 5005
USER 10001:10001
# No curl in the image: Node's fetch asks /health (200 while the process serves).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 5005) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM: stop accepting, finish in-flight transcriptions (up to SHUTDOWN_TIMEOUT_S), remove temp
# files, free the model, exit 0. Node is PID 1 and handles it itself; its only children (ffmpeg)
# are reaped by the server, so no init is needed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
