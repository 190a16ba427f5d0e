# syntax=docker/dockerfile:1
# keyless-deploy: one image, one binary (receiver, controller and CLI). Multi-stage, Node 24,
# production dependencies only, non-root, works with a read-only root filesystem.

# 1. Compile TypeScript with the full (dev) dependency set.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency (Node 24 for machines without it) is not needed here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# 2. Production dependencies only.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: distroless Node 24, no shell, no package manager, user 65532.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
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
