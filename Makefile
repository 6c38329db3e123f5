# sinch-webhookd - receives Sinch SMS callbacks and hands them to sinks.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/sinch-webhookd
# systemd reads units from /usr/local/lib/systemd/system and
# /usr/lib/systemd/system, which this is for PREFIX /usr/local and /usr;
# with another PREFIX, say UNITDIR=/etc/systemd/system.
UNITDIR	?= $(PREFIX)/lib/systemd/system

PKGS	 = libmicrohttpd libconfig nettle gnutls libsystemd libcurl libpq
WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla
CFLAGS	?= -O2 -g

ifeq ($(SANITIZE),1)
BUILD	 = build/san
BIN	 = $(BUILD)/sinch-webhookd
SEND	 = $(BUILD)/sinch-webhookd-send
DECODE	 = $(BUILD)/bench/decode
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
else
BUILD	 = build/obj
BIN	 = sinch-webhookd
SEND	 = sinch-webhookd-send
DECODE	 = bench/decode
SAN	 =
endif

# Recursive on purpose: pkg-config runs when a recipe needs the flags,
# after the deps target has installed what was missing.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
# The unit tests also check the JSON scanner against jansson.
CHECK_CFLAGS = $(shell pkg-config --cflags check jansson)
CHECK_LIBS   = $(shell pkg-config --libs check jansson)
# sinch-webhookd-send: its own sources, and the daemon's auth and buf.
SEND_PKGS  = libcurl jansson nettle gnutls
SEND_CFLAGS = $(shell pkg-config --cflags libcurl)
SEND_LIBS  = $(shell pkg-config --libs $(SEND_PKGS))

ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Iinclude $(WARN) \
	     $(PKG_CFLAGS) $(CFLAGS) $(SAN) -pthread -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN) -pthread

SRCS	 = $(wildcard src/*.c)
LIBSRCS	 = $(filter-out src/main.c,$(SRCS))
OBJS	 = $(SRCS:src/%.c=$(BUILD)/%.o)
LIBOBJS	 = $(LIBSRCS:src/%.c=$(BUILD)/%.o)
TSRCS	 = $(wildcard tests/unit/*.c)
TOBJS	 = $(TSRCS:tests/unit/%.c=$(BUILD)/tests/%.o)
TBIN	 = $(BUILD)/unit-tests
SEND_SRCS = $(wildcard src/send/*.c)
SEND_OBJS = $(SEND_SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/auth.o $(BUILD)/buf.o \
	    $(BUILD)/fdutil.o
# The decoder micro-benchmark links every daemon module but main.o, so a
# module that report.c or record.c starts to use is picked up by itself.
DECODE_OBJS = $(BUILD)/bench/decode.o $(LIBOBJS)
# Signs SNS envelopes for tests/e2e/t_sns.sh and the benchmark.
SNS_SIGN = $(BUILD)/tests/sns-sign

CONF	?= conf/sinch-webhookd.conf

.PHONY: all deps run check check-unit check-e2e check-examples lint \
	bench fuzz install uninstall clean

all: $(BIN) $(SEND)

# Installs Debian packages only when a library or tool is missing (the
# PostgreSQL server is for the tests of the postgres sink, tests/pg.sh).
deps:
	@if ! pkg-config --exists $(PKGS) $(SEND_PKGS) check 2>/dev/null || \
	    ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	    ! command -v psql >/dev/null 2>&1 || \
	    ! command -v curl >/dev/null 2>&1 || \
	    ! command -v jq >/dev/null 2>&1 || \
	    ! command -v sqlite3 >/dev/null 2>&1 || \
	    ! command -v python3 >/dev/null 2>&1 || \
	    ! command -v ps >/dev/null 2>&1 || \
	    ! command -v systemd-analyze >/dev/null 2>&1 || \
	    ! command -v man >/dev/null 2>&1; then \
		./scripts/install-deps.sh; \
	fi

$(BIN): $(OBJS) | deps
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(PKG_LIBS)

$(BUILD)/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(SEND): $(SEND_OBJS) | deps
	$(CC) $(ALL_LDFLAGS) -o $@ $(SEND_OBJS) $(SEND_LIBS)

$(BUILD)/send/%.o: src/send/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SEND_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/unit/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(TBIN): $(LIBOBJS) $(TOBJS) | deps
	$(CC) $(ALL_LDFLAGS) -o $@ $(LIBOBJS) $(TOBJS) $(PKG_LIBS) $(CHECK_LIBS)

$(SNS_SIGN): tests/e2e/sns_sign.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(shell pkg-config --libs gnutls)

run: $(BIN)
	@mkdir -p var
	./$(BIN) -c $(CONF)

check: check-unit check-examples check-e2e

# The postgres suite runs against a server of its own (tests/pg.sh).
check-unit: $(TBIN)
	SINCH_WEBHOOKD_SRCDIR=$(CURDIR) tests/pg.sh run -- ./$(TBIN)

check-e2e: $(BIN) $(SEND) $(SNS_SIGN)
	SINCH_WEBHOOKD_BIN=$(CURDIR)/$(BIN) \
	    SINCH_WEBHOOKD_SEND=$(CURDIR)/$(SEND) \
	    SINCH_WEBHOOKD_SNS_SIGN=$(CURDIR)/$(SNS_SIGN) tests/e2e/run.sh

check-examples: $(BIN)
	SINCH_WEBHOOKD_BIN=$(CURDIR)/$(BIN) tests/examples/run.sh

$(BUILD)/bench/%.o: bench/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(DECODE): $(DECODE_OBJS) | deps
	$(CC) $(ALL_LDFLAGS) -o $@ $(DECODE_OBJS) $(PKG_LIBS)

# Load tests against nginx, the daemon and adnanh/webhook on 127.0.0.1
# (bench/README.md).  wrk, nginx and webhook are installed only when a
# tool is missing (PostgreSQL, for the postgres sink's row, by deps);
# QUICK=1 makes one short run of each, a smoke check.
bench: $(BIN) $(DECODE) $(SNS_SIGN)
	@if ! command -v wrk >/dev/null 2>&1 || \
	    ! command -v nginx >/dev/null 2>&1 || \
	    ! command -v webhook >/dev/null 2>&1; then \
		./scripts/install-deps.sh --bench; \
	fi
	BENCH_BIN=$(CURDIR)/$(BIN) BENCH_DECODE=$(CURDIR)/$(DECODE) \
	    BENCH_SNS_SIGN=$(CURDIR)/$(SNS_SIGN) QUICK=$(QUICK) bench/run.sh

# libFuzzer over the decoder (with ASan and UBSan) and a differential
# fuzz of the JSON scanner against jansson, FUZZ_SECONDS each, starting
# from the test fixtures.  Needs clang (installed when missing).
FUZZ_SECONDS ?= 60
FUZZ_SRCS = src/jscan.c src/report.c src/record.c src/buf.c
FUZZ_FLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Iinclude -g -O1 \
	     -fsanitize=fuzzer,address,undefined

fuzz: | deps
	@command -v clang >/dev/null 2>&1 || ./scripts/install-deps.sh --fuzz
	@mkdir -p build/fuzz/corpus
	cp tests/data/payload/* build/fuzz/corpus/
	clang $(FUZZ_FLAGS) -o build/fuzz/report tests/fuzz/fuzz_report.c \
	    $(FUZZ_SRCS)
	clang $(FUZZ_FLAGS) $(shell pkg-config --cflags jansson) \
	    -o build/fuzz/jscan tests/fuzz/fuzz_jscan.c src/jscan.c \
	    $(shell pkg-config --libs jansson)
	build/fuzz/report -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    build/fuzz/corpus
	build/fuzz/jscan -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    build/fuzz/corpus

lint:
	@! grep -n -E '\b(sprintf|strcpy|strcat|gets)\(' src/*.c src/send/*.c || \
	    { echo "lint: unsafe string function"; exit 1; }
	@! grep -n -E '\bexit\(' $(filter-out src/main.c src/log.c,$(SRCS)) \
	    $(SEND_SRCS) || \
	    { echo "lint: exit() outside main.c and log.c"; exit 1; }

# What install puts in place, and all that uninstall takes away.
CONFDIR	 = $(DESTDIR)$(SYSCONFDIR)/sinch-webhookd
UNITS	 = sinch-webhookd.service sinch-webhookd.socket
DOCS	 = README.md docs/operations.md docs/sinch-dashboard.md \
	   docs/replicas.md
EXAMPLES = $(notdir $(wildcard docs/examples/*))
# The units name the binary and the configuration at their default places.
UNIT_SED = -e 's|/usr/local/bin/|$(BINDIR)/|g' \
	   -e 's|/etc/sinch-webhookd/|$(SYSCONFDIR)/sinch-webhookd/|g'
# The configuration as first installed: file sinks and the dedup state in
# the service's working directory, /var/lib/sinch-webhookd.
CONF_SED = -e 's|"var/|"|'

install: $(BIN) $(SEND)
	install -d $(DESTDIR)$(BINDIR) $(CONFDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/examples
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/sinch-webhookd
	install -m 755 $(SEND) $(DESTDIR)$(BINDIR)/sinch-webhookd-send
	install -m 644 conf/sinch-webhookd.conf \
	    $(CONFDIR)/sinch-webhookd.conf.example
	@# Never over a configuration that is there already.
	test -e $(CONFDIR)/sinch-webhookd.conf || { \
	    sed $(CONF_SED) conf/sinch-webhookd.conf \
		>$(CONFDIR)/sinch-webhookd.conf.new && \
	    chmod 644 $(CONFDIR)/sinch-webhookd.conf.new && \
	    mv $(CONFDIR)/sinch-webhookd.conf.new \
		$(CONFDIR)/sinch-webhookd.conf; }
	for u in $(UNITS); do \
	    sed $(UNIT_SED) systemd/$$u >$(DESTDIR)$(UNITDIR)/$$u.new && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$u.new && \
	    mv $(DESTDIR)$(UNITDIR)/$$u.new $(DESTDIR)$(UNITDIR)/$$u || \
	    exit 1; \
	done
	install -m 644 docs/sinch-webhookd-send.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/sinch-webhookd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 docs/sinch-webhookd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	for f in $(EXAMPLES); do \
	    if [ -x docs/examples/$$f ]; then m=755; else m=644; fi; \
	    install -m $$m docs/examples/$$f $(DESTDIR)$(DOCDIR)/examples/ || \
	    exit 1; \
	done

# Leaves the configuration if it differs from the one installed, and
# directories that still hold something.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sinch-webhookd \
	    $(DESTDIR)$(BINDIR)/sinch-webhookd-send \
	    $(CONFDIR)/sinch-webhookd.conf.example \
	    $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
	    $(DESTDIR)$(MANDIR)/man1/sinch-webhookd-send.1 \
	    $(DESTDIR)$(MANDIR)/man5/sinch-webhookd.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/sinch-webhookd.8 \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS))) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(EXAMPLES))
	if sed $(CONF_SED) conf/sinch-webhookd.conf | \
	    cmp -s - $(CONFDIR)/sinch-webhookd.conf; then \
		rm -f $(CONFDIR)/sinch-webhookd.conf; \
	elif [ -e $(CONFDIR)/sinch-webhookd.conf ]; then \
		echo "uninstall: keeping $(CONFDIR)/sinch-webhookd.conf" \
		    "(changed since install)"; \
	fi
	for d in $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) $(CONFDIR); do \
	    if [ -d $$d ]; then rmdir $$d 2>/dev/null || true; fi; \
	done

clean:
	rm -rf build sinch-webhookd sinch-webhookd-send bench/decode

-include $(OBJS:.o=.d) $(TOBJS:.o=.d) $(SEND_OBJS:.o=.d) \
	 $(BUILD)/bench/decode.d $(SNS_SIGN).d
