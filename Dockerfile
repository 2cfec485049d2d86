FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The runtime lock (make lock): exact versions, every file checked against its hash.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY . .
# Build-time values only (compilemessages and collectstatic import the settings,
# which refuse to start without them); the real ones come from the environment.
RUN export SECRET_KEY=build-only AUDIT_SIGNING_KEY=build-only-signing-key-not-a-secret-0000 \
       SECRETARIAT_KEYRING="1:$(python -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())')" \
       AUDIT_DIGEST_EXPORT_DIR=/tmp/build-audit-digests \
    && python manage.py compilemessages -v 0 --ignore=.venv \
    && SECRETARIAT_ENV=production ALLOWED_HOSTS=build python manage.py collectstatic --no-input -v 0
RUN useradd --system --home /app secretariat
USER secretariat
EXPOSE 8000
CMD ["gunicorn", "secretariat.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]
