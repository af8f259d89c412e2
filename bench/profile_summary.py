"""Summarise py-spy folded stacks (C{py-spy record --format raw}): top frames by self and total time.

    python bench/profile_summary.py PROFILE.txt [PROFILE2.txt ...] [--top 25] [--thread]

Each line of a raw profile is C{frame;frame;...;frame COUNT}, outermost first (with C{--threads}
the first frame names the thread). Self time is the share of samples whose innermost frame is the
frame; total time the share of samples with the frame anywhere on the stack (counted once per
sample). Frames are shown as C{function (file:line)} with the line dropped, so one function is one
row. Idle samples (threads waiting in C{select}/C{epoll}/C{Condition.wait}) are listed apart.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

_IDLE = re.compile(r"^(poll|select|wait|_wait|acquire|epoll|get|_worker|sleep) \(")
_LINE = re.compile(r":\d+\)$")


def _frame(raw: str) -> str:
    raw = _LINE.sub(")", raw.strip())
    for prefix in ("/work/venv/lib/python3.11/site-packages/", "/usr/lib/python3.11/"):
        raw = raw.replace(prefix, "")
    return re.sub(r"\(/[^)]*/(kmipd|bench|twisted)/", r"(\1/", raw)


def summarise(paths: list[str], top: int, by_thread: bool) -> str:
    self_t: Counter[str] = Counter()
    total_t: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = 0
    for path in paths:
        with open(path) as f:
            for line in f:
                stack, _, count = line.rstrip("\n").rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                n = int(count)
                frames = [_frame(fr) for fr in stack.split(";") if fr]
                if frames and frames[0].startswith(("thread ", "process ")):
                    threads[frames[0]] += n
                    frames = frames[1:] if not by_thread else frames
                    while frames and frames[0].startswith(("thread ", "process ")):
                        frames = frames[1:]
                if not frames:
                    continue
                samples += n
                self_t[frames[-1]] += n
                for fr in set(frames):
                    total_t[fr] += n
    out = [f"{samples} samples from {len(paths)} file(s)"]
    if threads:
        out.append("by thread: " + ", ".join(f"{t} {c / samples:.0%}" for t, c in threads.most_common(6)))
    out.append(f"\ntop {top} by self time:")
    out += [f"  {c / samples:6.1%}  {fr}" for fr, c in self_t.most_common(top)]
    out.append(f"\ntop {top} by total time:")
    out += [f"  {c / samples:6.1%}  {fr}" for fr, c in total_t.most_common(top)]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--thread", action="store_true", help="keep the thread frame")
    a = p.parse_args()
    print(summarise(a.paths, a.top, a.thread))


if __name__ == "__main__":
    main()
