# syntax=docker/dockerfile:1
# One image for every driftline subcommand: `serve` (the exporter), `webhook`, `generate`, `profile`, `check-config`.
# By default it carries the core install and the server extra (uvloop) only — what a metrics exporter and the webhook
# need (docs/install.md gives its package count and size). The report variant adds the report extra (Evidently, for
# `driftline report` and the exporter's /report): `docker build --build-arg EXTRAS=server,report -t
# driftline:VERSION-report .`. Stage 1 builds wheels
# for driftline and its dependencies at the versions pinned in deploy/image/constraints.txt (`make lock`), so a
# rebuild of a release installs the same packages; stage 2 installs them into a clean slim image with no compiler,
# no pip cache and a non-root user.

FROM python:3.11-slim-bookworm AS build
ARG EXTRAS="server"
WORKDIR /src
COPY pyproject.toml README.md LICENSE deploy/image/constraints.txt ./
COPY drift ./drift
COPY httpserver ./httpserver
COPY exporters ./exporters
COPY dashboards ./dashboards
COPY alerts ./alerts
COPY driftline ./driftline
RUN pip wheel --no-cache-dir --wheel-dir /wheels --constraint constraints.txt ".${EXTRAS:+[${EXTRAS}]}"

FROM python:3.11-slim-bookworm
ARG VERSION=0.1.0
ARG EXTRAS="server"
ARG REVISION=unknown
LABEL org.opencontainers.image.title="driftline" \
      org.opencontainers.image.description="Prometheus-native data and prediction drift monitoring for KServe models" \
      org.opencontainers.image.source="https://github.com/driftline/driftline" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "driftline${EXTRAS:+[${EXTRAS}]}==${VERSION}" \
    && useradd --system --uid 10001 --create-home --home-dir /home/driftline --shell /usr/sbin/nologin driftline
USER 10001
WORKDIR /home/driftline
EXPOSE 8080 8081
ENTRYPOINT ["driftline"]
CMD ["--help"]
