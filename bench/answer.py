#!/usr/bin/python3
"""answer.py - the helper of bench configuration (i): an exec sink with
protocol "lines" whose helper takes every record at once, answering "0"
to each line.  The least a helper can do, so that (i) measures what the
daemon and the protocol cost."""
import sys

for _ in sys.stdin:
    sys.stdout.write("0\n")
    sys.stdout.flush()
