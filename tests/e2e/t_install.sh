#!/usr/bin/env bash
#
# t_install.sh - make install and make uninstall, into temporary roots.
#
# `make install DESTDIR=$root PREFIX=/usr/local` puts exactly the expected
# files in place, with their modes; the units name the installed binary
# and configuration, and systemd-analyze verify accepts them; both manual
# pages render without a warning; the installed configuration passes -t.
# A second install keeps a configuration the admin edited, and `make
# uninstall` with the same variables removes everything else (and the
# package's own directories once empty).  With PREFIX=/usr the units land
# in /usr/lib/systemd/system and name /usr/bin/sinch-webhookd.
#
# make runs in the source tree with the variables of the make that runs
# the tests (SANITIZE=1 installs the sanitizer build); the binaries exist
# already under make check, and are built otherwise.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

if ! command -v systemd-analyze >/dev/null 2>&1 ||
    ! command -v man >/dev/null 2>&1; then
	note "installing the test dependencies (systemd, man-db)"
	"$SRCDIR/scripts/install-deps.sh" >&2 ||
	    fail "unable to install systemd-analyze and man"
fi

# run_make ROOT PREFIX TARGET: make TARGET in the source tree, output in
# $T/make.out.
run_make()
{
	make -C "$SRCDIR" --no-print-directory "$3" DESTDIR="$1" \
	    PREFIX="$2" >"$T/make.out" 2>&1
}

# files_in ROOT: every file and symlink under ROOT, relative, sorted.
files_in()
{
	(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
}

# expected_files PREFIX (without the leading /): what install must add.
expected_files()
{
	local p=$1 f

	{
		printf '%s\n' \
		    "$p/bin/sinch-webhookd" \
		    "$p/bin/sinch-webhookd-send" \
		    etc/sinch-webhookd/sinch-webhookd.conf \
		    etc/sinch-webhookd/sinch-webhookd.conf.example \
		    "$p/lib/systemd/system/sinch-webhookd.service" \
		    "$p/lib/systemd/system/sinch-webhookd.socket" \
		    "$p/share/man/man1/sinch-webhookd-send.1" \
		    "$p/share/man/man5/sinch-webhookd.conf.5" \
		    "$p/share/man/man8/sinch-webhookd.8" \
		    "$p/share/doc/sinch-webhookd/README.md" \
		    "$p/share/doc/sinch-webhookd/operations.md" \
		    "$p/share/doc/sinch-webhookd/sinch-dashboard.md" \
		    "$p/share/doc/sinch-webhookd/replicas.md"
		for f in "$SRCDIR"/docs/examples/*; do
			[[ -f $f ]] || continue
			echo "$p/share/doc/sinch-webhookd/examples/${f##*/}"
		done
	} | sort
}

# check_files ROOT PREFIX WHAT: the files under ROOT are exactly the
# expected ones.
check_files()
{
	local diffs

	diffs=$(diff <(expected_files "$2") <(files_in "$1") |
	    grep '^[<>]' | sed 's/^</missing:/; s/^>/unexpected:/' |
	    head -n 10 | tr '\n' ' ')
	[[ -z $diffs ]] || check_fail "$3: $diffs"
}

# check_mode FILE MODE
check_mode()
{
	local m

	m=$(stat -c %a "$1" 2>/dev/null)
	[[ $m == "$2" ]] || check_fail "${1#"$T"/}: mode ${m:-none}, expected $2"
}

# only_dirs_left ROOT WHAT: nothing but (empty) directories under ROOT.
only_dirs_left()
{
	local left

	left=$(files_in "$1" | head -n 10 | tr '\n' ' ')
	[[ -z $left ]] || check_fail "$2: left behind: $left"
}

# ---------------------------------------------------------------------------
# PREFIX=/usr/local

R=$T/root
P=usr/local
run_make "$R" /usr/local install ||
    fail "make install failed: $(tail -n 5 "$T/make.out")"
check_files "$R" "$P" "install PREFIX=/usr/local"
note "installed $(files_in "$R" | wc -l) files"

for f in "$R/$P/bin/sinch-webhookd" "$R/$P/bin/sinch-webhookd-send"; do
	check_mode "$f" 755
done
for f in "$R"/etc/sinch-webhookd/* "$R/$P"/lib/systemd/system/* \
    "$R/$P"/share/man/man*/* "$R/$P"/share/doc/sinch-webhookd/*.md; do
	check_mode "$f" 644
done
for f in "$SRCDIR"/docs/examples/*; do
	[[ -f $f ]] || continue
	if [[ -x $f ]]; then
		check_mode "$R/$P/share/doc/sinch-webhookd/examples/${f##*/}" 755
	else
		check_mode "$R/$P/share/doc/sinch-webhookd/examples/${f##*/}" 644
	fi
done

"$R/$P/bin/sinch-webhookd" -V | grep -q '^sinch-webhookd ' ||
    check_fail "the installed daemon does not say its version"
cmp -s "$SRCDIR/conf/sinch-webhookd.conf" \
    "$R/etc/sinch-webhookd/sinch-webhookd.conf.example" ||
    check_fail "sinch-webhookd.conf.example differs from conf/"

# The installed configuration keeps its files in the working directory of
# the service, and is valid as it is.
if grep -q '"var/' "$R/etc/sinch-webhookd/sinch-webhookd.conf"; then
	check_fail "the installed configuration names var/ paths, missing" \
	    "under /var/lib/sinch-webhookd"
fi
(cd "$T" && "$R/$P/bin/sinch-webhookd" -t \
    -c "$R/etc/sinch-webhookd/sinch-webhookd.conf") >"$T/t.out" 2>&1 ||
    check_fail "-t rejects the installed configuration: $(head -n 2 "$T/t.out")"

UNITDIR=$R/$P/lib/systemd/system
for u in service socket; do
	cmp -s "$SRCDIR/systemd/sinch-webhookd.$u" "$UNITDIR/sinch-webhookd.$u" ||
	    check_fail "sinch-webhookd.$u: not installed as written" \
		"(PREFIX /usr/local needs no change)"
done
grep -q -x 'ExecStart=/usr/local/bin/sinch-webhookd -c /etc/sinch-webhookd/sinch-webhookd.conf' \
    "$UNITDIR/sinch-webhookd.service" ||
    check_fail "ExecStart= does not run /usr/local/bin/sinch-webhookd with" \
	"/etc/sinch-webhookd/sinch-webhookd.conf"

# systemd-analyze verify checks that every command exists and is
# executable, and (with its --man default) that the Documentation= pages
# are found by man.  The installed units name /usr/local/bin, which is not
# this root, and --root= would look for /bin/kill and every systemd unit
# under the root as well.  So verify runs on copies (same names) whose
# /usr/local/bin/ is rewritten to the installed binary in the root, with
# MANPATH at the installed pages.  Any message is a failure.
mkdir -p "$T/verify"
for u in service socket; do
	sed "s|/usr/local/bin/|$R/$P/bin/|g" "$UNITDIR/sinch-webhookd.$u" \
	    >"$T/verify/sinch-webhookd.$u"
done
verify()
{
	MANPATH=$R/$P/share/man timeout -k 5 60 systemd-analyze verify \
	    "$1/sinch-webhookd.socket" "$1/sinch-webhookd.service" \
	    >"$T/verify.out" 2>&1
}
if ! verify "$T/verify" || [[ -s $T/verify.out ]]; then
	check_fail "systemd-analyze verify: $(head -n 5 "$T/verify.out" |
	    tr '\n' ' ')"
else
	note "systemd-analyze verify accepts both units"
fi
# The same check sees a broken unit, so its silence above means something.
mkdir -p "$T/verify-bad"
cp "$T/verify/sinch-webhookd.socket" "$T/verify-bad/"
sed "s|^ExecStart=$R/$P/bin/|ExecStart=$T/nowhere/|" \
    "$T/verify/sinch-webhookd.service" >"$T/verify-bad/sinch-webhookd.service"
verify "$T/verify-bad" && [[ ! -s $T/verify.out ]] &&
    check_fail "systemd-analyze verify accepts a unit whose program is missing"

# Both pages render at 80 columns without a warning, and man finds them
# (in a locale that surely exists, so that man itself does not complain).
for page in "$P/share/man/man8/sinch-webhookd.8" \
    "$P/share/man/man5/sinch-webhookd.conf.5"; do
	LC_ALL=C.UTF-8 MANWIDTH=80 timeout -k 5 60 man --warnings -l "$R/$page" \
	    >"$T/man.out" 2>"$T/man.err"
	rc=$?
	if ((rc != 0)) || [[ -s $T/man.err ]]; then
		check_fail "man -l ${page##*/}: status $rc: $(head -n 3 \
		    "$T/man.err" | tr '\n' ' ')"
	fi
	[[ $(grep -c . "$T/man.out") -gt 40 ]] ||
	    check_fail "man -l ${page##*/}: $(grep -c . "$T/man.out") lines"
done
for name in 8:sinch-webhookd 5:sinch-webhookd.conf 1:sinch-webhookd-send; do
	LC_ALL=C.UTF-8 MANPATH=$R/$P/share/man man -w "${name%%:*}" "${name#*:}" \
	    >/dev/null 2>&1 || check_fail "man does not find ${name#*:}(${name%%:*})"
done

# Uninstall removes all of it.
run_make "$R" /usr/local uninstall ||
    fail "make uninstall failed: $(tail -n 5 "$T/make.out")"
only_dirs_left "$R" "uninstall"
for d in etc/sinch-webhookd "$P/share/doc/sinch-webhookd"; do
	[[ ! -e $R/$d ]] || check_fail "uninstall left the directory $d"
done

# A configuration the admin changed survives install and uninstall.
run_make "$R" /usr/local install ||
    fail "make install (again) failed: $(tail -n 5 "$T/make.out")"
conf=$R/etc/sinch-webhookd/sinch-webhookd.conf
echo '# edited by the admin' >>"$conf"
cp "$conf" "$T/edited.conf"
run_make "$R" /usr/local install ||
    fail "make install over an edited configuration failed"
cmp -s "$conf" "$T/edited.conf" ||
    check_fail "make install replaced the edited configuration"
run_make "$R" /usr/local uninstall || fail "make uninstall failed"
left=$(files_in "$R" | tr '\n' ' ')
[[ $left == "etc/sinch-webhookd/sinch-webhookd.conf " ]] ||
    check_fail "uninstall after an edit: left '$left', expected the" \
	"edited configuration only"
cmp -s "$conf" "$T/edited.conf" ||
    check_fail "make uninstall changed the edited configuration"
grep -q 'keeping' "$T/make.out" ||
    check_fail "make uninstall did not say it keeps the configuration"

# ---------------------------------------------------------------------------
# PREFIX=/usr

R=$T/root-usr
run_make "$R" /usr install ||
    fail "make install PREFIX=/usr failed: $(tail -n 5 "$T/make.out")"
check_files "$R" usr "install PREFIX=/usr"
grep -q -x 'ExecStart=/usr/bin/sinch-webhookd -c /etc/sinch-webhookd/sinch-webhookd.conf' \
    "$R/usr/lib/systemd/system/sinch-webhookd.service" ||
    check_fail "PREFIX=/usr: ExecStart= does not run /usr/bin/sinch-webhookd"
grep -q -x 'ExecStartPre=/usr/bin/sinch-webhookd -t -c /etc/sinch-webhookd/sinch-webhookd.conf' \
    "$R/usr/lib/systemd/system/sinch-webhookd.service" ||
    check_fail "PREFIX=/usr: ExecStartPre= does not run /usr/bin/sinch-webhookd"
if grep -q /usr/local "$R"/usr/lib/systemd/system/*; then
	check_fail "PREFIX=/usr: a unit still names /usr/local"
fi
run_make "$R" /usr uninstall || fail "make uninstall PREFIX=/usr failed"
only_dirs_left "$R" "uninstall PREFIX=/usr"

finish
