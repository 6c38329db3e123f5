/*
 * log.h - diagnostics on stderr, one write(2) per line so that lines from
 * several threads never mix.  When stderr is the journal, lines carry the
 * syslog priority prefix ("<4>") that journald understands.
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>

#include "config.h"

void	log_init(enum log_level);
bool	log_enabled(enum log_level);
/* Masks what looks like a phone number in every message from now on. */
void	log_mask_numbers(bool);
/* Masks phone numbers in s in place: all but the last 2 digits. */
void	log_mask(char *s);

/* log_warn() and fatal() append ": <strerror(errno)>". */
void	log_warn(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_error(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
