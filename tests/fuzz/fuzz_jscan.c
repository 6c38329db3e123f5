/*
 * fuzz_jscan.c - libFuzzer target: jscan accepts exactly what jansson
 * accepts (json_loadb with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
 * JSON_ALLOW_NUL), but for the intended differences that jscan.h names:
 * nesting deeper than JSCAN_MAX_DEPTH; \u0000 in a key, and a lone
 * surrogate (read as U+FFFD), which jansson refuses.  Inputs with a raw
 * NUL byte are skipped: jansson lets one through after a number or
 * literal.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "jscan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jscan	*doc;
	json_error_t	 jerr;
	json_t		*root;
	char		 err[256];
	size_t		 off;

	if (memchr(data, '\0', len) != NULL)
		return 0;
	doc = jscan_new((const char *)data, len, err, sizeof(err), &off);
	root = json_loadb((const char *)data, len,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if ((doc != NULL) != (root != NULL) &&
	    !(doc == NULL && strstr(err, "nesting too deep") != NULL) &&
	    !(doc != NULL &&
	    (json_error_code(&jerr) == json_error_null_byte_in_key ||
	    strncmp(jerr.text, "invalid Unicode '\\uD", 18) == 0)))
		__builtin_trap();
	jscan_free(doc);
	json_decref(root);
	return 0;
}
