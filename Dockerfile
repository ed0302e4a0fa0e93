# Build stage: native better-sqlite3 compiles from source here, so the toolchain is needed.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY scripts/start-broker.sh ./scripts/
COPY package.json ./
VOLUME ["/data"]
# AMQP, job API, delivery intake, management (API, admin page, /metrics)
EXPOSE 5672 8282 8080 15672
STOPSIGNAL SIGTERM
# the launcher sets GLIBC_TUNABLES (malloc on huge pages) unless given, then execs node
CMD ["sh", "scripts/start-broker.sh"]
