# Embedding kmipd in a Twisted application: run with `twistd -ny etc/kmipd.tac`.
#
# KMIPService is an ordinary MultiService: it owns its thread pool, store, policy watcher and
# listening endpoints, and starts and stops with its parent.
from twisted.application import service

from kmipd import KMIPService, load_config

config = load_config(None, {"listen": ("tcp:5696:interface=127.0.0.1",)})
application = service.Application("kmipd")
KMIPService(config).setServiceParent(application)
