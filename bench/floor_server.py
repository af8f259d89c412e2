"""The do-nothing floor: KMIP framing over mutual TLS on Twisted/pyOpenSSL, a canned answer.

Not a server anyone should use. It accepts connections with the same TLS options kmipd builds
(L{kmipd.tls.build_server_tls_options}: TLS >= 1.2, client certificate required, session tickets),
sets TCP_NODELAY, splits the byte stream into KMIP messages by their 8-byte TTLV header and answers
each with one fixed, valid KMIP 1.2 Get response (an AES-256 key). What it costs per request is
what the transport alone costs: the floor kmipd's per-request CPU is compared against
(C{bench/bench_ops.py --ab} measures it in the same run).

    python bench/floor_server.py --port 5820 --cert server.pem --key server.key --ca ca.pem

Loopback only. Prints C{ready <port>} on stdout once listening.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import protocol  # noqa: E402

from kmipd.spec import CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, ResultStatus, Tag  # noqa: E402
from kmipd.testing import version_item  # noqa: E402
from kmipd.ttlv import Item, encode  # noqa: E402


def canned_get_response() -> bytes:
    """A KMIP 1.2 Get response carrying a 256-bit AES key (about the size kmipd sends)."""
    key = Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
        Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.RAW),
        Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, bytes(range(32)))]),
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES),
        Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256),
    ])])
    payload = Item.struct(Tag.RESPONSE_PAYLOAD, [
        Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
        Item.text(Tag.UNIQUE_IDENTIFIER, "00000000-0000-4000-8000-000000000000"), key])
    return encode(Item.struct(Tag.RESPONSE_MESSAGE, [
        Item.struct(Tag.RESPONSE_HEADER, [version_item((1, 2)), Item.datetime(Tag.TIME_STAMP, 1_700_000_000),
                                          Item.int(Tag.BATCH_COUNT, 1)]),
        Item.struct(Tag.BATCH_ITEM, [Item.enum(Tag.OPERATION, Operation.GET),
                                     Item.enum(Tag.RESULT_STATUS, ResultStatus.SUCCESS), payload]),
    ]))


class Floor(protocol.Protocol):
    """Frame KMIP messages; answer each with the canned response."""

    answer = b""

    def __init__(self) -> None:
        self.buf = b""

    def connectionMade(self) -> None:
        from kmipd.protocol import _no_delay

        _no_delay(self.transport)

    def dataReceived(self, data: bytes) -> None:
        buf = self.buf + data
        out = []
        while len(buf) >= 8:
            n = 8 + struct.unpack_from(">I", buf, 4)[0]
            if len(buf) < n:
                break
            buf = buf[n:]
            out.append(self.answer)
        self.buf = buf
        if out:
            self.transport.write(b"".join(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    a = p.parse_args()
    if not a.host.startswith("127."):
        raise SystemExit("loopback only")
    from twisted.internet import reactor

    from kmipd.config import load_config
    from kmipd.tls import build_server_tls_options, wrap_factory

    config = load_config(None, {"certificate_path": a.cert, "key_path": a.key, "ca_path": a.ca},
                         environ={})
    Floor.answer = canned_get_response()
    factory = protocol.Factory.forProtocol(Floor)
    port = reactor.listenTCP(a.port, wrap_factory(factory, build_server_tls_options(config)),  # type: ignore[attr-defined]
                             interface=a.host)
    print(f"ready {port.getHost().port}", flush=True)
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
