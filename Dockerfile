# syntax=docker/dockerfile:1
# The operator image: `replica-operator run` on a slim Python, as a non-root numeric user.
#
#   docker build -t infinibox-replica-operator:0.1.0 .
#
# Stage 1 installs the distribution (runtime dependencies only: no `dev` or `sim` extras) into a
# virtualenv; stage 2 copies that virtualenv onto a clean base, without pip caches or build tools.
#
# PYTHON_IMAGE may be any Debian-like base with Python >= 3.11 and its venv module: the official
# python image, or a debootstrapped Debian (python3 + python3-venv), which is what the tests build
# from (tools/image). Only `python3` is called, which both have (`python` may be missing).

ARG PYTHON_IMAGE=python:3.11-slim-trixie

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ ./operator/
# Runtime dependencies only (tests/e2e/shipping/test_image.py checks the pip list of the built image).
RUN pip install --no-cache-dir .

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="infinibox-replica-operator" \
      org.opencontainers.image.description="Kubernetes operator that declares InfiniBox async and sync replication as custom resources." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/infinibox-replica-operator/infinibox-replica-operator" \
      org.opencontainers.image.vendor="infinibox-replica-operator developers"
# A passwd entry for the numeric user: kopf names itself after the user when POD_ID is not set.
# Not named `operator`: Debian's base-passwd already has that group (gid 37), and groupadd exits 9.
RUN groupadd --system --gid 65532 replica-operator \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin replica-operator
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
USER 65532:65532
WORKDIR /tmp
# 8080: kopf liveness endpoint (/healthz); 9090: Prometheus metrics (/metrics).
EXPOSE 8080 9090
ENTRYPOINT ["replica-operator", "run"]
