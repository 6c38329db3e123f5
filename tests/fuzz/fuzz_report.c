/*
 * fuzz_report.c - libFuzzer target: any bytes through report_decode and,
 * when they decode, record_encode.  Sanitizers catch memory errors; the
 * target itself traps on a reason that is not one line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "record.h"
#include "report.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct timespec	 at = { 1700000000, 0 };
	struct report	*r;
	struct buf	 line;
	char		 err[256];

	r = report_decode((const char *)data, len, err, sizeof(err));
	if (r == NULL) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			__builtin_trap();
		return 0;
	}
	buf_init(&line);
	if (record_encode(&line, r, "fuzz-1", &at, (const char *)data,
	    len) == 0 && (line.len == 0 || line.data[line.len - 1] != '\n' ||
	    memchr(line.data, '\n', line.len - 1) != NULL))
		__builtin_trap();
	buf_fini(&line);
	report_free(r);
	return 0;
}
