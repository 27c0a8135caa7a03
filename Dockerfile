FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir -e .
COPY . .
# Static files are collected and the code compiled into the image, as root: at run time the
# app's user can write only under /data (uploads, PDFs, beat's schedule), never into its own
# code. collectstatic reads no secret: placeholders stand in for the keys a start requires.
RUN SECRET_KEY=collectstatic-at-build-time \
      CPR_ENCRYPTION_KEY=YnVpbGQtdGltZS1wbGFjZWhvbGRlci0zMi1ieXRlcyE= \
      CPR_INDEX_KEY=YnVpbGQtdGltZS1wbGFjZWhvbGRlci0zMi1ieXRlcyE= \
      python manage.py collectstatic --noinput \
    && python -m compileall -q config cooperation cases stalkingpakke
RUN useradd --system samvirke && mkdir -p /data/media /data/beat \
    && chown samvirke /data/media /data/beat
USER samvirke
# Font and chart caches in /tmp: the system user has no home directory to keep them in.
ENV PYTHONUNBUFFERED=1 XDG_CACHE_HOME=/tmp/cache MPLCONFIGDIR=/tmp/matplotlib
