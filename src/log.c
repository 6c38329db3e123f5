/*
 * log.c - diagnostics and fatal exits.  Each message is formatted into a
 * local buffer and written with one write(2) to stderr, so concurrent
 * threads never interleave within a line.  Plain "level: message" lines,
 * or "<N>message" when $JOURNAL_STREAM says stderr is the journal.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048

static enum log_level	log_level = LOG_LEVEL_INFO;
static bool		log_journal;
static bool		log_masking;

/* A phone number here: 7 to 15 digits, alone (MSISDNs are at most 15). */
#define LOG_PHONE_MIN	7
#define LOG_PHONE_MAX	15
#define LOG_PHONE_KEEP	2

static const struct {
	const char	*name;
	int		 priority;	/* syslog(3) LOG_* value */
} log_levels[] = {
	[LOG_LEVEL_ERROR] = { "error", 3 },
	[LOG_LEVEL_WARN] = { "warn", 4 },
	[LOG_LEVEL_INFO] = { "info", 6 },
	[LOG_LEVEL_DEBUG] = { "debug", 7 },
};

/* journald sets JOURNAL_STREAM to "dev:ino" of the stream it gave us. */
static bool
stderr_is_journal(void)
{
	const char		*env = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) == -1)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(enum log_level level)
{
	log_level = level;
	log_journal = stderr_is_journal();
}

void
log_mask_numbers(bool on)
{
	log_masking = on;
}

static bool
is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/*
 * A run of digits that no letter or digit touches, optionally after '+',
 * is a phone number if it is long enough; request ids, ports and sizes
 * are either shorter or glued to letters.
 */
void
log_mask(char *s)
{
	size_t	i = 0, start, len, k;

	while (s[i] != '\0') {
		if (!(s[i] >= '0' && s[i] <= '9') ||
		    (i > 0 && is_alnum(s[i - 1]))) {
			i++;
			continue;
		}
		for (start = i; s[i] >= '0' && s[i] <= '9'; i++)
			;
		len = i - start;
		if (is_alnum(s[i]) || len < LOG_PHONE_MIN ||
		    len > LOG_PHONE_MAX)
			continue;
		for (k = start; k < i - LOG_PHONE_KEEP; k++)
			s[k] = '*';
	}
}

bool
log_enabled(enum log_level level)
{
	return level <= log_level;
}

static void
log_vwrite(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char	 line[LOG_LINE_MAX];
	size_t	 n, start, i, room = sizeof(line) - 1;	/* one for '\n' */
	int	 r;

	if (log_journal)
		r = snprintf(line, room, "<%d>", log_levels[level].priority);
	else
		r = snprintf(line, room, "%s: ", log_levels[level].name);
	n = r < 0 ? 0 : (size_t)r;
	start = n;
	r = vsnprintf(line + n, room - n, fmt, ap);
	if (log_masking)
		log_mask(line + n);
	n = r < 0 ? n : n + (size_t)r;
	if (n > room - 1)
		n = room - 1;
	/*
	 * One line each, whatever a message quotes from the network: a
	 * line break in a callback's type must not forge a line of its own.
	 */
	for (i = start; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = line[i] == '\n' || line[i] == '\r' ||
			    line[i] == '\t' ? ' ' : '?';
	if (errnum != 0) {
		r = snprintf(line + n, room - n, ": %s", strerror(errnum));
		n = r < 0 ? n : n + (size_t)r;
		if (n > room - 1)
			n = room - 1;
	}
	line[n++] = '\n';
	/* Nothing useful can be done if stderr itself fails. */
	if (write(STDERR_FILENO, line, n) == -1)
		return;
}

#define LOG_BODY(level, errnum) do {					\
	va_list	ap;							\
	int	saved = errno;						\
	if (!log_enabled(level))					\
		return;							\
	va_start(ap, fmt);						\
	log_vwrite(level, errnum, fmt, ap);				\
	va_end(ap);							\
	errno = saved;							\
} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, saved);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 0);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
