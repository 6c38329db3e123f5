/*
 * utc.h - ISO 8601 UTC times as SNS and Sinch write them.
 */
#ifndef UTC_H
#define UTC_H

/*
 * YYYY-MM-DDTHH:MM:SS[.fraction]Z to epoch seconds (the fraction
 * dropped; a leap second, :60, counts as the next second).  Returns 0, or
 * -1 for anything else, including dates that do not exist such as
 * February 30.
 */
int	utc_timestamp(const char *s, long long *out);

#endif
