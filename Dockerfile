# The profile center: one image for the web app (default command) and the delivery worker.
# Never publish the web container's port to visitors: slow clients stall gunicorn's threads, so it needs a
# buffering proxy in front. compose.yaml, and the README's commands (section Operations), put the nginx
# container of deploy/nginx/container-nginx.conf in front of it:
#   docker build -t profile-center .
#   docker network create profile-center
#   docker run -d --network profile-center --network-alias app --env-file prod.env profile-center   # web
#   docker run -d --network profile-center --env-file prod.env profile-center flask --app wsgi journal deliver --forever
#   ... and nginx, the only container with a published port: README, section "Docker and compose".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MALLOC_ARENA_MAX=1 \
    PORT=8000

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes (dev tools never installed).
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The code, owned by root and read-only for the app user (.dockerignore keeps tests, .git, venvs out).
COPY . .
RUN mkdir -p /app/instance && chown app:app /app/instance

USER app
EXPOSE 8000
VOLUME ["/app/instance"]

# Liveness without curl: the image's own Python asks /healthz (under SCRIPT_NAME when the app is mounted there).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s%s/healthz' % (os.environ.get('PORT', '8000'), os.environ.get('SCRIPT_NAME', '')), timeout=4)"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
