#!/bin/sh
# install-deps.sh - installs the Debian packages that sinch-webhookd needs to
# build and test.  Called by make when pkg-config cannot find a library, and
# by .ci/run.  Safe to run again: apt-get skips what is already there.
# libpq-dev builds the postgres sink; postgresql is the server its tests
# start of their own (tests/pg.sh), never the system's cluster.
#
# With --bench, only what `make bench` needs besides the build: wrk, nginx
# (the baseline), webhook (adnanh/webhook, the exec comparison), python3
# and procps.  With --fuzz, clang (for libFuzzer) for `make fuzz`.
set -eu

case ${1:-} in
--bench)
	PKGS="wrk nginx webhook python3 procps"
	;;
--fuzz)
	PKGS="clang"
	;;
"")
	PKGS="pkg-config libmicrohttpd-dev libjansson-dev libconfig-dev check
	libsubunit-dev nettle-dev libgnutls28-dev libsystemd-dev gnutls-bin curl jq
	ca-certificates sqlite3 python3 python3-prometheus-client
	systemd man-db libcurl4-gnutls-dev procps postgresql libpq-dev"
	;;
*)
	echo "usage: install-deps.sh [--bench | --fuzz]" >&2
	exit 2
	;;
esac

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: need root to install:$missing" >&2
		exit 1
	fi
else
	SUDO=
fi

echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
