#!/bin/sh
#
# take.sh DIR [SECONDS] - exec-sink hook for tests/e2e: sleeps SECONDS
# (default 0.02: a hook that does some work), then appends
# SINCH_CLIENT_REFERENCE as one line to DIR/taken and exits 0.  Lines of
# concurrent runs never mix: each is one short O_APPEND write.

set -u

dir=${1:?usage: take.sh DIR [SECONDS]}
sleep "${2:-0.02}"
printf '%s\n' "${SINCH_CLIENT_REFERENCE:-}" >>"$dir/taken"
