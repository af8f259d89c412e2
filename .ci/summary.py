"""Print trial's result as one plain line: 'tests: N passed, N failed, N skipped'."""

import re
import sys

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
match = re.findall(r"^(PASSED|FAILED) \(([^)]*)\)\s*$", text, re.M)
if not match:
    print("tests: 0 passed, 1 failed (trial printed no summary)")
    sys.exit(1)
counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match[-1][1]))
passed = counts.get("successes", 0) + counts.get("expectedFailures", 0)
failed = counts.get("failures", 0) + counts.get("errors", 0) + counts.get("unexpectedSuccesses", 0)
print(f"tests: {passed} passed, {failed} failed, {counts.get('skips', 0)} skipped")
