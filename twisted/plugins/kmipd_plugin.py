"""twistd plugin: C{twistd kmip}."""

from twisted.application.service import ServiceMaker

Kmipd = ServiceMaker("kmipd", "kmipd.tap", "A KMIP key management server.", "kmip")
