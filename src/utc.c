/*
 * utc.c - reads the ISO 8601 UTC times that SNS and Sinch write.
 */
#include <string.h>
#include <time.h>

#include "utc.h"

/* Two decimal digits at s, or -1. */
static int
utc_digits2(const char *s)
{
	int	 n = -1;

	if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9')
		n = (s[0] - '0') * 10 + (s[1] - '0');
	return n;
}

int
utc_timestamp(const char *s, long long *out)
{
	static const int	 mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	struct tm		 tm;
	const char		*p;
	int			 hi, lo, year, mon, day, days, ret = -1;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 20 || (hi = utc_digits2(s)) == -1 ||
	    (lo = utc_digits2(s + 2)) == -1 || s[4] != '-' ||
	    (mon = utc_digits2(s + 5)) == -1 || s[7] != '-' ||
	    (day = utc_digits2(s + 8)) == -1 || s[10] != 'T' ||
	    (tm.tm_hour = utc_digits2(s + 11)) == -1 || s[13] != ':' ||
	    (tm.tm_min = utc_digits2(s + 14)) == -1 || s[16] != ':' ||
	    (tm.tm_sec = utc_digits2(s + 17)) == -1)
		goto done;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			goto done;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		goto done;
	year = hi * 100 + lo;
	if (mon < 1 || mon > 12)
		goto done;
	days = mdays[mon - 1];
	if (mon == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		days++;
	if (day < 1 || day > days || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		goto done;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	*out = (long long)timegm(&tm);
	ret = 0;
done:
	return ret;
}
