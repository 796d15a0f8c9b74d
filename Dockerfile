# Production image: the Slack app (`python -m bot`), Socket Mode or HTTP mode by configuration.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    HOST=0.0.0.0 \
    PORT=3000

WORKDIR /app
RUN useradd --create-home --uid 10001 orchestra

# Exactly the locked production set, every hash checked (`make lock` writes the file), and
# nothing resolved at build time: the image built tomorrow is the one CI tested today.
COPY requirements/main.txt ./requirements/main.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/main.txt \
    && mkdir -p /app/data && chown 10001 /app/data

# Only production code: the sandbox (fakes, page server) and tests never enter the image. The
# code runs from /app (PYTHONPATH) rather than being pip-installed, which would pull an unlocked
# build backend into the build.
COPY pipeline ./pipeline
COPY bot ./bot

# The run store (ORCHESTRA_DATABASE_URL defaults to sqlite:///data/orchestra.db): keep it on a
# volume so runs survive a new container and are resumed by it.
VOLUME ["/app/data"]
USER 10001
EXPOSE 3000
# /healthz answers 200 in HTTP mode; in Socket Mode there is no listener, so skip the probe there.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request; sys.exit(0) if os.environ.get('SLACK_APP_TOKEN') else urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=2)"]
CMD ["python", "-m", "bot"]
