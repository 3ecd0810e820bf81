# syntax=docker/dockerfile:1
# Build stage: full image, so better-sqlite3 can compile if no prebuilt binary fits.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: slim, non-root, state on a volume.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    TENCENT_LIVE_CALLBACK_LISTEN=0.0.0.0:8080 \
    TENCENT_LIVE_METRICS_LISTEN=0.0.0.0:9877 \
    TENCENT_LIVE_STORE=sqlite:/app/data/tencent-live.db
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 8080 9877
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["node", "dist/src/cli/healthcheck.js"]
ENTRYPOINT ["node", "dist/src/main.js"]
