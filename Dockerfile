# syntax=docker/dockerfile:1
# Refract gateway image: docker build -t refract . && docker run -p 8080:8080 refract --backend name=host:port
# Stateless: run as many replicas as needed over one etcd cluster (deploy/kubernetes/).

# --- build: the full toolchain, compiles TypeScript to dist/ ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY fixtures ./fixtures
COPY proto ./proto
RUN npm run build

# --- runtime: production dependencies, compiled code and the files it reads at run time ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Bundled google/* descriptors (proto/descriptors) and the demo's protos and descriptor sets.
COPY proto ./proto
COPY fixtures/descriptors ./fixtures/descriptors
# The node image's unprivileged user (uid 1000); nothing in /app is writable by it.
USER 1000:1000
# Public HTTP port and admin port (health, metrics); the admin listener binds loopback unless
# --admin-host says otherwise (the Kubernetes manifests set 0.0.0.0 so kubelet probes reach it).
EXPOSE 8080 9090
ENTRYPOINT ["node", "dist/src/cli/main.js"]
