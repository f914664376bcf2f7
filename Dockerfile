# syntax=docker/dockerfile:1
#
# mockserver in a container: `mockserver serve --host 0.0.0.0` on port 8080, as a non-root user.
#
#   docker build -t mockserver .
#   docker run --rm -p 8080:8080 -e MOCKSERVER_ADMIN_TOKEN=change-me mockserver
#   docker run --rm -p 8080:8080 -v "$PWD/fixtures:/fixtures:ro" mockserver --fixtures /fixtures
#
# Every option can also be given as a MOCKSERVER_* variable (`docker run -e MOCKSERVER_SEED=7`).
# Bound to 0.0.0.0, the admin API (the journal holds every prompt) needs a token: without
# MOCKSERVER_ADMIN_TOKEN one is generated and printed in the banner (`docker logs`). Other
# containers calling it by a service name also need MOCKSERVER_ADMIN_HOST=<that name>.
# Arguments after the image name replace the default `--host 0.0.0.0`; MOCKSERVER_HOST=0.0.0.0
# keeps the server reachable from outside the container all the same.

ARG PYTHON_VERSION=3.11

# ---- build: the project's wheel (hatchling; schemas/ and fixtures/ bundled into it), and wheels
# of every dependency, so the runtime stage installs offline from /wheels.
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# .dockerignore lets in only what the wheel is built from.
COPY . .
RUN pip wheel --wheel-dir /wheels .

# ---- runtime
FROM python:${PYTHON_VERSION}-slim
# docker stop sends SIGTERM and kills 10 s later: in-flight replies get 7 s, then streams are
# cut with an error event, and the server is gone within about 8 s.
ENV MOCKSERVER_HOST=0.0.0.0 \
    MOCKSERVER_SHUTDOWN_TIMEOUT=7 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels mockserver \
    && useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin mockserver
USER mockserver
WORKDIR /home/mockserver
EXPOSE 8080
# No curl in slim images: the health probe is Python's urllib. It follows MOCKSERVER_PORT if the
# port is changed that way (a --port argument is not seen here: use the variable instead).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('MOCKSERVER_PORT') or '8080'; r = urllib.request.urlopen(f'http://127.0.0.1:{port}/__admin/health', timeout=2); sys.exit(0 if r.status == 200 else 1)"]
# Exec form: mockserver is PID 1 and gets SIGTERM itself (it finishes in-flight replies, then exits).
ENTRYPOINT ["mockserver", "serve"]
CMD ["--host", "0.0.0.0"]
