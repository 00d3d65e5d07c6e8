# promsd's container image: built from source in a Rust stage, shipped in a minimal distroless
# stage (glibc and CA certificates, no shell) as a non-root user.
#
#   docker build -t promsd \
#     --build-arg PROMSD_BUILD_REVISION=$(git rev-parse HEAD) \
#     --build-arg PROMSD_BUILD_BRANCH=$(git rev-parse --abbrev-ref HEAD) .
#   docker run -p 9099:9099 -v $PWD/prometheus.yml:/etc/promsd/prometheus.yml:ro promsd
#
# The git revision and branch are build arguments because .git is not sent to the builder
# (.dockerignore); without them `promsd --version` says "unknown".

FROM docker.io/library/rust:1.95-bookworm AS builder
ARG PROMSD_BUILD_REVISION
ARG PROMSD_BUILD_BRANCH
ARG PROMSD_BUILD_USER=docker
ARG SOURCE_DATE_EPOCH
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin promsd \
 && install -D -m 0755 target/release/promsd /out/promsd

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/promsd /usr/local/bin/promsd
COPY --chown=0:0 examples/prometheus.yml /etc/promsd/prometheus.yml
COPY --chown=0:0 examples/targets /etc/promsd/targets
# distroless' "nonroot" user; Kubernetes' runAsNonRoot needs the numeric id.
USER 65532:65532
WORKDIR /etc/promsd
EXPOSE 9099
ENTRYPOINT ["promsd", "run"]
CMD ["--config.file=/etc/promsd/prometheus.yml", "--web.listen-address=:9099"]
