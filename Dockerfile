# mme-gateway container image: build with dev dependencies, ship only production dependencies
# and compiled output. Node 22 is the current LTS line the AWS SDK requires from 2027 (24 works
# the same way; change both FROM lines together).
#
#   docker build -t mme-gateway .
#   docker run -p 8080:8080 mme-gateway            # embedded local MME, sample models
#
# test/integration/docker-build.test.ts replays these steps without a Docker engine.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Sample models for the embedded local MME (LOCAL_MME=on or auto with no SageMaker settings).
COPY models ./models
# Served at GET /openapi.yaml.
COPY openapi.yaml ./
# The image's own "node" user: the process needs no privileges and writes nothing to disk,
# so the task can run with a read-only root filesystem.
USER node
EXPOSE 8080
STOPSIGNAL SIGTERM
# node is PID 1 and handles SIGTERM itself (src/shutdown.ts: readiness off, drain, exit), so no
# init wrapper is needed. This is `npm start` without its prestart build: npm would not pass
# signals on reliably and the image is already built.
CMD ["node", "dist/main.js"]
