# syntax=docker/dockerfile:1
# switchyard: a small, non-root image (docs/DEPLOY.md).
#   docker build -t switchyard .
#   docker run -v ./my-config:/etc/switchyard:ro -v switchyard-data:/var/lib/switchyard \
#     -e SWITCHYARD_ADMIN_TOKEN=... -p 8080:8080 switchyard
# Linted by hadolint in .ci/run; not built there (the CI machine has no container engine).

# --- build: dependencies first (cached while only src/ changes), then the binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY loadtest/Cargo.toml loadtest/Cargo.toml
RUN mkdir -p src loadtest/src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > loadtest/src/main.rs \
 && touch loadtest/src/lib.rs \
 && cargo build --release --locked --bin switchyard \
 && rm -rf src loadtest/src
COPY src ./src
COPY loadtest ./loadtest
# No debuginfo and stripped symbols in the image (the repo's release profile keeps
# line tables for profiling).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=symbols
RUN touch src/main.rs src/lib.rs loadtest/src/main.rs loadtest/src/lib.rs \
 && cargo build --release --locked --bin switchyard \
 && mkdir -p /out/data \
 && cp target/release/switchyard /out/switchyard

# --- runtime: distroless (glibc, CA roots, no shell, no package manager), user nonroot.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/switchyard /usr/local/bin/switchyard
COPY config/switchyard.example.toml /etc/switchyard/switchyard.toml
# The working directory holds the ledger (`[ledger] path = "data/switchyard.db"`).
COPY --from=build --chown=65532:65532 /out/data /var/lib/switchyard/data
WORKDIR /var/lib/switchyard
# Config: mount your own directory at /etc/switchyard (read-only is fine; SIGHUP or
# POST /admin/reload re-reads it). Data: the ledger lives here; keep it on a volume.
VOLUME ["/var/lib/switchyard"]
# 8080: public API ([server] listen). 9090: admin API ([admin] listen; the example
# binds it to 127.0.0.1, so it is reachable only inside the pod unless changed).
EXPOSE 8080 9090
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/switchyard", "healthcheck", "--config", "/etc/switchyard/switchyard.toml"]
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["serve", "--config", "/etc/switchyard/switchyard.toml"]
