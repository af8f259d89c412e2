"""Tests for L{kmipd.crypto}."""
