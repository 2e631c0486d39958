# Backstop container image. Two stages: build with the Debian 12 toolchain,
# then copy the binary, migrations, thresholds and config into a slim runtime.
#   docker build -t backstop .
#   docker run --rm -p 8080:8080 -e BACKSTOP_DATABASE_URL=... backstop

# ---- build ------------------------------------------------------------------
FROM debian:12 AS build

# The build dependencies of scripts/lib.sh BACKSTOP_PACKAGES, minus the
# PostgreSQL server and client (tests are not run here).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ccache \
      libboost1.81-dev libboost-json1.81-dev \
      libpqxx-dev prometheus-cpp-dev libspdlog-dev libyaml-cpp-dev \
      libgtest-dev libssl-dev \
      curl python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# A build folder copied from the host has a CMakeCache.txt pointing elsewhere;
# always configure from scratch.
RUN rm -rf build \
 && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBACKSTOP_BUILD_TESTS=OFF \
 && cmake --build build --target backstop -j"$(nproc)"

# ---- runtime ----------------------------------------------------------------
FROM debian:12-slim

# Shared libraries the binary links against (the runtime halves of the -dev
# packages above).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpqxx-6.4 libpq5 libyaml-cpp0.7 libspdlog1.10 libfmt9 \
      libprometheus-cpp-core1.0 libboost-json1.81.0 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin backstop

COPY --from=build /src/build/backstop /usr/local/bin/backstop
COPY --from=build /src/migrations /usr/share/backstop/migrations
COPY --from=build /src/thresholds /usr/share/backstop/thresholds
COPY --from=build /src/deploy/backstop.docker.yaml /etc/backstop/backstop.yaml

# Fail the image build, not the first start, if a shared library is missing.
RUN if ldd /usr/local/bin/backstop | grep -q "not found"; then \
      ldd /usr/local/bin/backstop; exit 1; \
    fi

USER backstop
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/backstop"]
CMD ["serve", "--config", "/etc/backstop/backstop.yaml"]
