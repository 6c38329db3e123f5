#!/usr/bin/env python3
"""lines.py DIR [MODE] - an exec-sink helper (protocol "lines") for
tests/e2e.

Notes "PID started" in DIR/events when it starts and reads records, one
JSON line each, from stdin.  For each it does what the first word of the
record's client_reference says, and answers one line on stdout:

    hang        never answers
    junk        answers "hello", which is not a status
    reject      answers "65 <reason>"
    later       answers "75 <reason>"
    slow:S      sleeps S seconds, then takes the record
    anything    takes the record: appends "PID REF" to DIR/taken, then
    else        answers "0"

MODE changes the helper as a whole:

    crash:N     exits (status 3), without answering, on its Nth record
    broken      says why on stderr and exits 2 before reading anything

At EOF it notes "PID stopped" in DIR/events and exits 0.
"""

import json
import os
import sys
import time


def note(path, text):
    with open(path, "a") as f:
        f.write("%d %s\n" % (os.getpid(), text))


def main():
    d = sys.argv[1]
    mode = sys.argv[2] if len(sys.argv) > 2 else ""
    if mode == "broken":
        print("lines.py: no configuration in %s" % d, file=sys.stderr)
        return 2
    crash_at = int(mode.split(":")[1]) if mode.startswith("crash:") else 0
    note(d + "/events", "started")
    n = 0
    for line in sys.stdin:
        n += 1
        if n == crash_at:
            os._exit(3)
        ref = json.loads(line)["payload"].get("client_reference", "")
        word = ref.split(" ")[0]
        if word == "hang":
            time.sleep(3600)
        elif word == "junk":
            answer = "hello"
        elif word == "reject":
            answer = "65 not a report of ours"
        elif word == "later":
            answer = "75 the database is busy"
        else:
            if word.startswith("slow:"):
                time.sleep(float(word[5:]))
            note(d + "/taken", ref)
            answer = "0"
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
    note(d + "/events", "stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
