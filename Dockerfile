# syntax=docker/dockerfile:1
# keyless-deploy: one image, one binary (receiver, controller and CLI). Multi-stage, Node 24,
# production dependencies only, non-root, works with a read-only root filesystem.
#
# Base images are build arguments; the defaults are the images a release is built from
# (docs/operations.md says why these). `npm run image` passes local stand-ins of the same layout
# where these cannot be pulled.
ARG BUILD_IMAGE=docker.io/library/node:24-trixie-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian13:nonroot

# 1. Compile TypeScript with the full (dev) dependency set. Runs on the build machine's platform:
#    the output is JavaScript, so a multi-arch build compiles once and emulates nothing.
FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency (Node 24 for machines without it) is not needed here.
# Optional build secrets, never stored in a layer: `npmrc` (a private registry or proxy) and
# `ca-certificates` (a PEM bundle for a TLS-intercepting proxy), e.g.
#   --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    --mount=type=secret,id=npmrc,target=/root/.npmrc,required=false \
    --mount=type=secret,id=ca-certificates,target=/run/secrets/ca-certificates.pem,required=false \
    if [ -s /run/secrets/ca-certificates.pem ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-certificates.pem; fi; \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# 2. Production dependencies only, from the lockfile. They are plain JavaScript (no native
#    addons, no install scripts), so they too are installed once for every target platform.
#    Their type definitions and source maps never run (Node loads neither) and are about two
#    thirds of what `npm ci --omit=dev` installs: they are left out.
FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    --mount=type=secret,id=npmrc,target=/root/.npmrc,required=false \
    --mount=type=secret,id=ca-certificates,target=/run/secrets/ca-certificates.pem,required=false \
    if [ -s /run/secrets/ca-certificates.pem ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-certificates.pem; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
         -o -name '*.js.map' -o -name '*.mjs.map' -o -name '*.cjs.map' \) -delete

# 3. Runtime: distroless Node 24, no shell, no package manager, user 65532. No RUN here: nothing in
#    this stage executes, so it needs no emulation and the image holds only what runs.
FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY crds ./crds
USER 65532:65532
EXPOSE 8080 8081
# Node is PID 1 and handles SIGTERM/SIGINT itself (graceful shutdown: drain, release the Lease).
ENTRYPOINT ["/nodejs/bin/node", "dist/cli/main.js"]
CMD ["--help"]
