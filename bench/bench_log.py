"""CPU per log event on the path twistd kmip installs: kmipd's per-request line, level filter, file.

Not a test. Emits kmipd's per-request event (the fields C{KMIPProtocol._answer} logs) through a
L{twisted.logger.LogPublisher} to the observer C{twistd kmip} installs (a level filter in front of
twistd's text file observer writing a L{twisted.python.logfile.LogFile}), once with Twisted's
formatter and once with L{kmipd.log.ClassicFormatter}, alternately, and prints the medians of
C{time.process_time} per event.

    PYTHONPATH=. python bench/bench_log.py --count 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from twisted.logger import LogPublisher, textFileLogObserver
from twisted.python.logfile import LogFile

from kmipd.log import Logger, classic_file_observer, set_level
from kmipd.tap import level_filter


def _run(classic: bool, count: int, directory: str) -> float:
    logfile = LogFile("bench.log", directory, rotateLength=None)
    observer = textFileLogObserver(logfile)
    if classic:
        observer = classic_file_observer(observer)
    log = Logger(namespace="kmipd.protocol", observer=LogPublisher(level_filter(observer, "INFO")))
    started = time.process_time()
    for i in range(count):
        log.info("{client} {operation} -> {result_status}", client="client-1", operation="Get",
                 result_status="Success", version="2.1", duration=0.000412, correlation=f"{i:032x}",
                 client_correlation=None)
    spent = time.process_time() - started
    logfile.close()
    return spent / count


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    set_level("INFO")
    results: dict[str, list[float]] = {"twisted": [], "classic": []}
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(args.rounds):
            for label in ("twisted", "classic", "classic", "twisted"):
                results[label].append(_run(label == "classic", args.count, directory))
    for label, values in results.items():
        print(f"{label:8} {statistics.median(values) * 1e6:6.1f} us per event")


if __name__ == "__main__":
    main()
