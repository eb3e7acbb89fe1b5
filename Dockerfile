# comptoir: the production image. Multi-stage (build tools stay in the first stage), slim,
# runs as an unprivileged user. One image for every role; the command picks it:
#   comptoir migrate                   one-off, before a release's API and workers start
#   comptoir serve --workers N         the API (GraphQL, files, probes, metrics) on port 8000
#   comptoir worker                    the mail outbox worker (run one or more)
# See compose.yaml and the README's "Production" section.

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/comptoir
# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir -p api auth comptoir db demo documents domain mailers \
    && for p in api auth comptoir db demo documents domain mailers; do touch $p/__init__.py; done \
    && /opt/comptoir/bin/pip install . \
    && /opt/comptoir/bin/pip uninstall -y comptoir
COPY . .
RUN /opt/comptoir/bin/pip install --no-deps . \
    && /opt/comptoir/bin/python -m compileall -q /opt/comptoir/lib

FROM python:3.12-slim AS runtime
ENV PATH=/opt/comptoir/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COMPTOIR_ENV=production \
    COMPTOIR_HOST=0.0.0.0 \
    COMPTOIR_PORT=8000 \
    COMPTOIR_FILES_DIR=/var/lib/comptoir/files \
    COMPTOIR_MAIL_DIR=/var/lib/comptoir/mail
RUN groupadd --system --gid 10001 comptoir \
    && useradd --system --uid 10001 --gid comptoir --home-dir /app --shell /usr/sbin/nologin comptoir \
    && mkdir -p /var/lib/comptoir/files /var/lib/comptoir/mail \
    && chown -R comptoir:comptoir /var/lib/comptoir
COPY --from=build /opt/comptoir /opt/comptoir
# The migrations (alembic) are read from the source tree beside the packages.
COPY --chown=root:root alembic.ini /app/alembic.ini
COPY --chown=root:root migrations /app/migrations
COPY --chown=root:root api /app/api
COPY --chown=root:root auth /app/auth
COPY --chown=root:root comptoir /app/comptoir
COPY --chown=root:root db /app/db
COPY --chown=root:root demo /app/demo
COPY --chown=root:root documents /app/documents
COPY --chown=root:root domain /app/domain
COPY --chown=root:root mailers /app/mailers
COPY --chown=root:root schema.graphql /app/schema.graphql
WORKDIR /app
# The code is read from /app (where db/migrate.py finds ../migrations), not site-packages.
ENV PYTHONPATH=/app
USER comptoir:comptoir
VOLUME ["/var/lib/comptoir"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status != 200)"]
CMD ["comptoir", "serve", "--workers", "2"]
