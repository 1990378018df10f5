# Linli production image: one image runs web (gunicorn), worker and beat (Celery).
# Built and run by docker-compose.yml; see docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

RUN groupadd --system --gid 10001 linli \
    && useradd --system --uid 10001 --gid linli --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin linli

WORKDIR /app

# Pinned dependencies first, so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install --root-user-action=ignore -r requirements.lock

COPY . .

# Hashed, compressed static files for whitenoise (CompressedManifestStaticFilesStorage)
# and compiled translations are baked into the image. Neither step needs a secret,
# so they run with the base settings (same STATIC_ROOT and STORAGES as production).
RUN DJANGO_SETTINGS_MODULE=config.settings.base python manage.py collectstatic --noinput -v 0 \
    && DJANGO_SETTINGS_MODULE=config.settings.base python manage.py compile_translations \
    && mkdir -p var/media \
    && chown -R linli:linli var

USER linli

EXPOSE 8000

# config/gunicorn.py: bind, workers (WEB_CONCURRENCY), the 120 s timeout, trusted
# X-Forwarded-Proto, and logging through the ID-number mask (core.logging).
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application"]
