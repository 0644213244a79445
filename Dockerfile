# mme-gateway container image: build with dev dependencies, ship only production dependencies
# and compiled output.
#
# Base: a Node LTS line on Debian slim. 22 and 24 are both supported LTS lines and work the same;
# one ARG feeds both stages so they never drift apart. For reproducible builds pin a digest:
#   docker build --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:... -t mme-gateway .
#
#   docker build -t mme-gateway .
#   docker run -p 8080:8080 mme-gateway            # embedded local MME, sample models
#
# test/integration/docker-build.test.ts replays these steps without a Docker engine, so keep to
# plain COPY/RUN/ENV/CMD here (no heredocs, no shell-form CMD).
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Package files first: the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: production dependencies need none, and it keeps the layer inert.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Sample models for the embedded local MME (LOCAL_MME=on, or auto with no SageMaker settings);
# the local MME finds them at ../../models from dist/local-mme. On ECS LOCAL_MME=off ignores them.
COPY models ./models
# Served at GET /openapi.yaml.
COPY openapi.yaml ./
# The image's own unprivileged "node" user: the process writes nothing to disk, so the task can
# also run with a read-only root filesystem (the CloudFormation template does).
USER node
EXPOSE 8080
STOPSIGNAL SIGTERM
# No HEALTHCHECK: ECS runs the task definition's health check (node against /healthz; slim
# images have no curl), and a Dockerfile one would only duplicate it.
#
# node is PID 1 and handles SIGTERM itself (src/shutdown.ts: /readyz 503, grace, drain, exit), so
# no init wrapper is needed (`docker run --init` or ECS initProcessEnabled add tini if wanted).
# This is package.json's `start` script without its prestart build: the image is already built,
# and npm as PID 1 would stand between the signal and the process.
CMD ["node", "dist/main.js"]
