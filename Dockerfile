# kmipd container image.
#
#   docker build -t kmipd .
#   docker run -v kmipd-data:/var/lib/kmipd -p 5696:5696 kmipd
#
# No key, certificate or password is part of the image: the data volume holds the
# database, the master key and (without certificates configured) a development PKI;
# production deployments mount certificates and the master key as secrets and point
# KMIPD_CERTIFICATE_PATH / KMIPD_KEY_PATH / KMIPD_CA_PATH / KMIPD_MASTER_KEY_PATH at them
# (see compose.yaml and docs/deployment.md). Every server.conf key can be set as KMIPD_<KEY>.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY setup.py pyproject.toml README.md ./
COPY kmipd ./kmipd
COPY twisted ./twisted
RUN pip install ".[postgres,mysql]" \
    && python -c "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))" \
    && rm -rf /src

RUN groupadd --system --gid 5696 kmipd \
    && useradd --system --uid 5696 --gid kmipd --home-dir /var/lib/kmipd --shell /usr/sbin/nologin kmipd \
    && mkdir -p /var/lib/kmipd /etc/kmipd \
    && chown kmipd:kmipd /var/lib/kmipd && chmod 0700 /var/lib/kmipd

ENV KMIPD_DATA_DIR=/var/lib/kmipd \
    KMIPD_LISTEN="tcp:5696:interface=0.0.0.0" \
    KMIPD_METRICS_LISTEN="tcp:9464:interface=0.0.0.0"

VOLUME ["/var/lib/kmipd"]
EXPOSE 5696 9464
USER kmipd
WORKDIR /var/lib/kmipd

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9464/readyz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["kmipd"]
CMD []
