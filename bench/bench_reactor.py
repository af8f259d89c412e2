"""Reactor-side CPU per request: framing, dispatch hand-off, reply, log line, metrics (no TLS, no pool).

Not a test. A L{kmipd.protocol.KMIPProtocol} on a C{StringTransport} (no TLS) in front of the
tree's real L{kmipd.dispatch.Dispatcher}, whose processor answers at once with a Get reply made
beforehand (so the operation's own work, which runs in the pool, is left out), with the log
pipeline C{twistd kmip} installs (level INFO, the runner's observer on a
L{twisted.python.logfile.LogFile}) and the service's metrics. CPU per request with
C{time.process_time}; trees alternate (A B B A) as in C{bench_inproc.py}.

    python bench/bench_reactor.py --tree before=/tmp/before --tree after=. --rounds 3
    python bench/bench_reactor.py --profile        # cProfile of this checkout's loop, top 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _measure(count: int, profile: bool, group_commit: bool) -> float:
    import kmipd  # from PYTHONPATH (the tree measured)

    sys.stderr.write(f"kmipd from {os.path.dirname(kmipd.__file__)}\n")
    sys.path.insert(0, HERE)
    from bench_ops import create_req, ok, uid_req
    from twisted.internet.address import IPv4Address
    from twisted.internet.testing import StringTransport
    from twisted.logger import globalLogBeginner, textFileLogObserver
    from twisted.python.logfile import LogFile

    from kmipd import log as kmipd_log
    from kmipd.auth.identify import Caller
    from kmipd.dispatch import Scheduling
    from kmipd.metrics import Metrics
    from kmipd.protocol import KMIPServerFactory
    from kmipd.spec import Operation
    from kmipd.tap import level_filter
    from kmipd.testing import make_dispatcher
    from kmipd.ttlv import decode

    directory = tempfile.mkdtemp()
    observer = textFileLogObserver(LogFile("kmipd.log", directory, rotateLength=None))
    classic = getattr(kmipd_log, "classic_file_observer", None)  # what twistd kmip installs in this tree
    if classic is not None:
        observer = classic(observer)
    kmipd_log.set_level("INFO")
    globalLogBeginner.beginLoggingTo([level_filter(observer, "INFO")], discardBuffer=True,
                                     redirectStandardIO=False)

    dispatcher = make_dispatcher(scheduling=Scheduling(group_commit=group_commit, store_jobs=2))
    processor = dispatcher.processor
    caller = Caller("bench")
    (created,) = processor.process_many([create_req()], caller)
    uid = ok(decode(created.data)).find(0x420094).value  # Unique Identifier
    request = uid_req(Operation.GET, uid)
    (reply,) = processor.process_many([request], caller)
    assert b"\x42\x00\x7f" in reply.data

    class Canned:  # the pool's side, done: the same reply for every message
        limits = processor.limits

        def process_many(self, messages, caller):
            return [reply for _ in messages]

        def process_group(self, units):
            return [[reply for _ in messages] for messages, _caller in units]

    dispatcher.processor = Canned()  # type: ignore[assignment]
    dispatcher.services["metrics"] = Metrics()
    factory = KMIPServerFactory(dispatcher, tls=False)
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5696))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
    protocol.makeConnection(transport)

    def loop(n: int) -> None:
        for _ in range(n):
            protocol.dataReceived(request)
            transport.clear()

    loop(200)
    if profile:
        import cProfile
        import pstats

        cProfile.runctx("loop(count)", globals(), {"loop": loop, "count": count}, "/tmp/bench_reactor.prof")
        pstats.Stats("/tmp/bench_reactor.prof").sort_stats("tottime").print_stats(30)
    started = time.process_time()
    loop(count)
    return (time.process_time() - started) / count


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", action="append", default=[], help="LABEL=PATH (repeatable); default: this checkout")
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--group-commit", action="store_true", help="the SQLite scheduling (one job per group)")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child or args.profile:
        spent = _measure(args.count, args.profile, args.group_commit)
        print(json.dumps(spent))
        return
    trees = [t.split("=", 1) for t in args.tree] or [["this", os.path.dirname(HERE)]]
    results: dict[str, list[float]] = {label: [] for label, _ in trees}
    for _ in range(args.rounds):
        for label, path in trees + trees[::-1]:
            env = dict(os.environ, PYTHONPATH=os.path.abspath(path))
            command = [sys.executable, os.path.abspath(__file__), "--child", "--count", str(args.count)]
            if args.group_commit:
                command.append("--group-commit")
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
            results[label].append(json.loads(out.strip().splitlines()[-1]))
    for label, values in results.items():
        print(f"{label:10} {statistics.median(values) * 1e6:7.1f} us per request (reactor side, no TLS)")


if __name__ == "__main__":
    main()
