"""PyKMIP 0.11.0 test-suite harness (the pinned sdist and the code that runs it against kmipd)."""
