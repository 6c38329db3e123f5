# sinch-webhookd - receives Sinch SMS callbacks and hands them to sinks.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
MANDIR	?= $(PREFIX)/share/man
UNITDIR	?= /lib/systemd/system

PKGS	 = libmicrohttpd jansson libconfig nettle gnutls libsystemd
WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla
CFLAGS	?= -O2 -g

ifeq ($(SANITIZE),1)
BUILD	 = build/san
BIN	 = $(BUILD)/sinch-webhookd
SEND	 = $(BUILD)/sinch-webhookd-send
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
else
BUILD	 = build/obj
BIN	 = sinch-webhookd
SEND	 = sinch-webhookd-send
SAN	 =
endif

# Recursive on purpose: pkg-config runs when a recipe needs the flags,
# after the deps target has installed what was missing.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)
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
SEND_OBJS = $(SEND_SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/auth.o $(BUILD)/buf.o

CONF	?= conf/sinch-webhookd.conf

.PHONY: all deps run check check-unit check-e2e check-examples lint \
	install uninstall clean

all: $(BIN) $(SEND)

# Installs Debian packages only when a library or tool is missing.
deps:
	@if ! pkg-config --exists $(PKGS) $(SEND_PKGS) check 2>/dev/null || \
	    ! command -v curl >/dev/null 2>&1 || \
	    ! command -v jq >/dev/null 2>&1 || \
	    ! command -v sqlite3 >/dev/null 2>&1 || \
	    ! command -v python3 >/dev/null 2>&1; then \
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

run: $(BIN)
	@mkdir -p var
	./$(BIN) -c $(CONF)

check: check-unit check-examples check-e2e

check-unit: $(TBIN)
	SINCH_WEBHOOKD_SRCDIR=$(CURDIR) ./$(TBIN)

check-e2e: $(BIN) $(SEND)
	SINCH_WEBHOOKD_BIN=$(CURDIR)/$(BIN) \
	    SINCH_WEBHOOKD_SEND=$(CURDIR)/$(SEND) tests/e2e/run.sh

check-examples: $(BIN)
	SINCH_WEBHOOKD_BIN=$(CURDIR)/$(BIN) tests/examples/run.sh

lint:
	@! grep -n -E '\b(sprintf|strcpy|strcat|gets)\(' src/*.c src/send/*.c || \
	    { echo "lint: unsafe string function"; exit 1; }
	@! grep -n -E '\bexit\(' $(filter-out src/main.c src/log.c,$(SRCS)) \
	    $(SEND_SRCS) || \
	    { echo "lint: exit() outside main.c and log.c"; exit 1; }

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/sinch-webhookd
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/sinch-webhookd
	install -m 644 conf/sinch-webhookd.conf \
	    $(DESTDIR)$(SYSCONFDIR)/sinch-webhookd/sinch-webhookd.conf.example
	install -d $(DESTDIR)$(UNITDIR)
	install -m 644 systemd/sinch-webhookd.service $(DESTDIR)$(UNITDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sinch-webhookd \
	    $(DESTDIR)$(SYSCONFDIR)/sinch-webhookd/sinch-webhookd.conf.example \
	    $(DESTDIR)$(UNITDIR)/sinch-webhookd.service

clean:
	rm -rf build sinch-webhookd sinch-webhookd-send

-include $(OBJS:.o=.d) $(TOBJS:.o=.d) $(SEND_OBJS:.o=.d)
