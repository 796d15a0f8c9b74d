# Production image: the Slack app (`python -m bot`), Socket Mode or HTTP mode by configuration.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=3000

WORKDIR /app
RUN useradd --create-home --uid 10001 orchestra

# Only production code: the sandbox (fakes, page server) and tests never enter the image.
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY bot ./bot
RUN pip install --no-cache-dir . \
    && mkdir -p /app/data && chown 10001 /app/data

# The run store (ORCHESTRA_DATABASE_URL defaults to sqlite:///data/orchestra.db): keep it on a
# volume so runs survive a new container and are resumed by it.
VOLUME ["/app/data"]
USER 10001
EXPOSE 3000
# /healthz answers 200 in HTTP mode; in Socket Mode there is no listener, so skip the probe there.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request; sys.exit(0) if os.environ.get('SLACK_APP_TOKEN') else urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=2)"]
CMD ["python", "-m", "bot"]
