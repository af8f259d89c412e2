# -*- test-case-name: tests.test_policy_reload -*-
"""
Live reloading of the policy directory (PyKMIP's C{policy_path}).

L{PolicyDirectoryWatcher} polls the directory on an injected clock.  Each
scan runs in a thread (via the injected C{run_blocking}): it lists
C{*.json} files with C{os.scandir}, compares (mtime, size, inode) with the
last scan and re-parses only files that changed.  The results are applied
to the L{PolicyEngine} on the reactor thread.  Each file is one engine
I{source}, named by its path.

Semantics (PyKMIP's policy monitor):

  - files added, changed or removed take effect on the next scan, i.e.
    within one C{interval};
  - when a policy name defined by file A is defined again by a newer file B,
    B's definition takes effect and A's is cached; when B is removed or
    stops defining the name, A's definition is restored.  Within one scan,
    changed files are applied oldest first (by mtime, then path), so the
    newest file wins;
  - the reserved names C{default} and C{public} are never redefined: such
    entries are logged and ignored, the rest of the file is used;
  - a malformed file is logged (with the file and the offending key) and
    ignored without touching policies loaded from other files.  A file that
    B{becomes} malformed keeps its last good definitions in effect until it
    is fixed or removed (the safe choice for a typo in a live edit: access
    does not silently disappear).  A malformed file is not re-parsed until it
    changes again;
  - if the directory itself cannot be listed, the error is logged and the
    current policies are kept.

Call L{PolicyDirectoryWatcher.load_initial} (blocking) before the reactor
serves so requests never see a half-loaded policy set; C{startService} then
starts polling.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from twisted.application.service import Service
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from kmipd.log import Logger
from kmipd.policy.loader import PolicyFileError, load_policy_file
from kmipd.policy.model import Policy, PolicyEngine

__all__ = ["FileStamp", "PolicyDirectoryWatcher", "ScanResult", "scan_directory"]

_log = Logger()


class FileStamp(NamedTuple):
    """What identifies one version of a file between scans."""

    mtime_ns: int
    size: int
    inode: int


@dataclass
class ScanResult:
    """
    The outcome of one directory scan (built in a thread, applied on the
    reactor thread).

    @ivar stamps: path -> stamp for every C{*.json} file now present.
    @ivar loaded: (path, policies) for changed files that parsed, oldest first.
    @ivar failed: (path, error) for changed files that did not parse.
    @ivar removed: paths that were known and are gone.
    """

    stamps: dict[str, FileStamp]
    loaded: list[tuple[str, dict[str, Policy]]] = field(default_factory=list)
    failed: list[tuple[str, BaseException]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def scan_directory(directory: str, known: dict[str, FileStamp]) -> ScanResult:
    """
    List C{*.json} files in C{directory} and parse those whose stamp differs
    from C{known} (blocking; touches no shared state).

    @raise PolicyFileError: if the directory cannot be listed.
    """
    stamps: dict[str, FileStamp] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if not entry.name.endswith(".json"):
                    continue
                try:
                    if not entry.is_file():
                        continue
                    st = entry.stat()
                except OSError:
                    # Vanished between listing and stat: treat as absent.
                    continue
                stamps[entry.path] = FileStamp(st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError as e:
        raise PolicyFileError(
            f"policy directory {directory}: cannot list: {e.strerror or e}"
        ) from e

    result = ScanResult(stamps=stamps)
    result.removed = sorted(set(known) - set(stamps))
    changed = sorted(
        (path for path, stamp in stamps.items() if known.get(path) != stamp),
        key=lambda path: (stamps[path].mtime_ns, path),
    )
    for path in changed:
        try:
            result.loaded.append((path, load_policy_file(path)))
        except Exception as e:  # noqa: BLE001 - one bad file never stops the scan
            result.failed.append((path, e))
    return result


RunBlocking = Callable[..., "Deferred[Any]"]


class PolicyDirectoryWatcher(Service):
    """
    Poll a policy directory and keep a L{PolicyEngine} in sync with it.
    """

    def __init__(
        self,
        engine: PolicyEngine,
        directory: str | os.PathLike[str],
        clock: IReactorTime,
        run_blocking: RunBlocking,
        interval: float = 0.5,
    ) -> None:
        """
        @param run_blocking: C{run_blocking(f, *args)} runs C{f(*args)} off the
            reactor thread and returns a Deferred of its result (e.g.
            C{partial(deferToThreadPool, reactor, pool)}).
        @param interval: seconds between scans.
        """
        if interval <= 0:
            raise ValueError(
                f"policy reload interval must be positive, got {interval!r}"
            )
        self.engine = engine
        self.directory = os.fsdecode(directory)
        self.clock = clock
        self._run_blocking = run_blocking
        self.interval = interval
        self._known: dict[str, FileStamp] = {}
        self._loop: LoopingCall | None = None
        self._loop_done: Deferred[Any] | None = None
        self._initial_loaded = False
        #: policy files (re)loaded or removed, and files refused (read by kmipd.metrics)
        self.reloads = self.reload_failures = 0

    def load_initial(self) -> None:
        """
        Scan the directory synchronously (blocking: call before the reactor
        serves requests).

        @raise PolicyFileError: if the directory cannot be listed.  Malformed
            files are logged and skipped, as during live reloads.
        """
        self._apply(scan_directory(self.directory, dict(self._known)))
        self._initial_loaded = True

    def scan(self) -> Deferred[None]:
        """
        Run one scan in a thread and apply it on the reactor thread.  Never
        fails: errors are logged.
        """
        d = maybeDeferred(
            self._run_blocking, scan_directory, self.directory, dict(self._known)
        )
        d.addCallback(self._apply)
        d.addErrback(self._scan_failed)
        return d

    def _scan_failed(self, failure: Failure) -> None:
        if failure.check(PolicyFileError):
            _log.error(
                "Policy directory scan failed; keeping current policies: {error}",
                error=str(failure.value),
                directory=self.directory,
            )
        else:
            _log.failure(
                "Unexpected error scanning policy directory {directory}",
                failure,
                directory=self.directory,
            )

    def _apply(self, result: ScanResult) -> None:
        engine = self.engine
        for path in result.removed:
            _log.info("Removing policies from deleted file {path}", path=path)
            engine.remove_source(path)
        for path, policies in result.loaded:
            _log.info(
                "Loading policies {policy_names} from {path}",
                path=path,
                policy_names=sorted(policies),
            )
            engine.set_source(path, policies)
        for path, error in result.failed:
            if isinstance(error, PolicyFileError):
                _log.error(
                    "Ignoring malformed policy file {path} (last good policies kept): {error}",
                    path=path,
                    error=str(error),
                )
            else:
                _log.failure(
                    "Unexpected error loading policy file {path}",
                    Failure(error, type(error), error.__traceback__),
                    path=path,
                )
        self._known = result.stamps
        # ops: read by kmipd.metrics
        self.reloads += len(result.loaded) + len(result.removed)
        self.reload_failures += len(result.failed)

    def startService(self) -> None:
        """Start polling every C{interval} seconds on C{clock}."""
        super().startService()
        loop = LoopingCall(self.scan)
        loop.clock = self.clock
        self._loop = loop
        self._loop_done = loop.start(self.interval, now=not self._initial_loaded)

    def stopService(self) -> Deferred[None]:
        """Stop polling; the returned Deferred fires once any in-flight scan
        has been applied."""
        super().stopService()
        loop, done = self._loop, self._loop_done
        self._loop = self._loop_done = None
        if loop is None or done is None:
            return succeed(None)
        if loop.running:
            loop.stop()
        result: Deferred[None] = Deferred()
        done.addBoth(lambda _: result.callback(None))
        return result
