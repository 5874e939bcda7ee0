# The Stampedge cloud store as a small, non-root image (see compose.yaml and the README's
# "Install on a till box" section). Build: docker build -t stampedge-cloud .
# The agent belongs beside the till's devices, as a systemd service (stampedge service install).

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY config ./config
COPY drivers ./drivers
COPY printers ./printers
COPY sync ./sync
# The wheel and every dependency as wheels: the runtime stage needs no compiler and no index.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[cloud]"

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STAMPEDGE_CLOUD__LISTEN=0.0.0.0:8788 \
    STAMPEDGE_CLOUD__DATABASE=sqlite:////var/lib/stampedge/cloud.db \
    STAMPEDGE_CLOUD__LOG_JSON=true
# Only the wheels built above (--no-index): their versions are this build's, pinned by it.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels "stampedge[cloud]" \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/stampedge \
       --shell /usr/sbin/nologin stampedge \
    && install -d -m 0700 -o stampedge -g stampedge /var/lib/stampedge
USER 10001:10001
WORKDIR /var/lib/stampedge
VOLUME ["/var/lib/stampedge"]
EXPOSE 8788
# No curl in the slim image: Python asks /health (exit 1 on any failure).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8788/health', timeout=4)"]
# Settings come from STAMPEDGE_CLOUD__* variables, or mount a file and add --config.
CMD ["stampedge", "cloud"]
