/*
 * main.c - command line, startup order, signal loop and shutdown.
 *
 * Signals are blocked before any thread starts, so only the main thread
 * sees them, in sigwait().  Shutdown stops accepting, lets requests in
 * flight finish (bounded), drains the sinks so that every parked request
 * gets its answer, and only then stops the listener.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "auth.h"
#include "config.h"
#include "fdutil.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "sink.h"
#include "version.h"

#define DEFAULT_CONF	"/etc/sinch-webhookd/sinch-webhookd.conf"
/* After the sinks drain, parked requests get this long to be answered. */
#define ANSWER_GRACE_MS	2000
/* How long a connection accepted before the stop may take to ask. */
#define FRESH_GRACE_MS	1000

static void
usage(FILE *f)
{
	fprintf(f, "usage: sinch-webhookd [-tvhV] [-c file]\n"
	    "  -c file  configuration (default %s)\n"
	    "  -t       check the configuration and exit\n"
	    "  -v       log debug messages\n"
	    "  -h       show this help\n"
	    "  -V       show the version\n", DEFAULT_CONF);
}

int
main(int argc, char *argv[])
{
	const char	*path = DEFAULT_CONF;
	struct config	*cfg;
	struct sinks	*sinks;
	struct http	*http;
	struct auth	*auth, *fresh;
	sigset_t	 set;
	char		 err[1024];
	struct timespec	 tick = { 0, 0 };
	uint64_t	 watchdog_us = 0;
	bool		 check_only = false, verbose = false;
	int		 ch, sig;

	fdutil_std_open();
	while ((ch = getopt(argc, argv, "c:tvhV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sinch-webhookd %s\n", VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	/* An unreadable secret is a configuration error, for -t too. */
	if ((auth = auth_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", path, err);
		config_free(cfg);
		return 2;
	}
	if (check_only) {
		fprintf(stderr, "%s: configuration OK\n", path);
		auth_unref(auth);
		config_free(cfg);
		return 0;
	}
	log_init(verbose ? LOG_LEVEL_DEBUG : cfg->log_level);
	log_mask_numbers(cfg->log_mask_numbers);
	if (metrics_init(cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		fatalx("main: unable to block signals");
	/* A vanished stdout reader must be an error, not death. */
	signal(SIGPIPE, SIG_IGN);

	if ((sinks = sinks_open(cfg, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((http = http_start(cfg, sinks, auth, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	log_info("main: sinch-webhookd %s started", VERSION);
	/* The listener accepts now: tell systemd (a no-op without it). */
	sd_notify(0, "READY=1\nSTATUS=serving");
	if (sd_watchdog_enabled(1, &watchdog_us) > 0) {
		/* Ping at half the interval, as sd_watchdog_enabled(3) asks. */
		tick.tv_sec = (time_t)(watchdog_us / 2 / 1000000);
		tick.tv_nsec = (long)(watchdog_us / 2 % 1000000) * 1000;
		log_info("main: systemd watchdog every %llu ms",
		    (unsigned long long)watchdog_us / 1000);
	}

	for (;;) {
		if (watchdog_us > 0) {
			if ((sig = sigtimedwait(&set, NULL, &tick)) == -1) {
				if (errno == EAGAIN)
					sd_notify(0, "WATCHDOG=1");
				else if (errno != EINTR)
					fatal("main: sigtimedwait");
				continue;
			}
		} else if ((errno = sigwait(&set, &sig)) != 0)
			fatal("main: sigwait");
		if (sig == SIGHUP) {
			log_info("main: SIGHUP, reopening files and re-reading "
			    "secrets");
			sinks_reopen(sinks);
			/* Built whole before it replaces the old one. */
			if ((fresh = auth_new(cfg, err, sizeof(err))) == NULL)
				log_warnx("main: keeping the old secrets: %s",
				    err);
			else
				http_set_auth(http, fresh);
			continue;
		}
		break;
	}

	log_info("main: %s, stopping", strsignal(sig));
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	http_quiesce(http);
	/* Reports waiting for a sink's turn are answered 503 now. */
	sinks_quiesce(sinks);
	/*
	 * Connections accepted just before the stop get a moment to send
	 * their request, which is then answered 503, not dropped.
	 */
	(void)http_wait_idle(http, FRESH_GRACE_MS, true);
	if (!http_wait_idle(http, cfg->shutdown_timeout_s * 1000, false))
		log_warnx("main: requests still in flight after %d s",
		    cfg->shutdown_timeout_s);
	sinks_drain(sinks);
	if (sinks_save(sinks, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	(void)http_wait_idle(http, ANSWER_GRACE_MS, false);
	http_stop(http);
	sinks_free(sinks);
	log_info("main: stopped");
	metrics_fini();
	config_free(cfg);
	return 0;
}
