/*
 * jscan.h - a strict JSON scanner: bytes -> a flat array of tokens.
 *
 * It accepts exactly the RFC 8259 texts that jansson's json_loadb() with
 * JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL accepts: one
 * value of any type, then only whitespace; valid UTF-8 throughout; no
 * duplicate keys at any level, compared after unescaping, over their
 * whole length; integer literals that fit int64_t; reals that are finite
 * as strtod() would read them.  A string may hold \u0000, a key too.  The
 * intended differences: containers nest at most JSCAN_MAX_DEPTH deep,
 * where jansson allows 2048; jansson refuses \u0000 in a key ("NUL byte
 * in object key not supported"); and a lone surrogate escape (\ud83d not
 * followed by a low one, or \udc00 alone), which jansson refuses, decodes
 * as U+FFFD, so decoded strings are always valid UTF-8.
 *
 * Tokens are named by their index; the root is index 0.  An object's
 * children are its keys, each followed by its value; an array's children
 * are its elements.  Every accessor takes -1 ("absent", what a failed
 * lookup returns) and then answers false, 0 or NULL, so lookups chain.
 */
#ifndef JSCAN_H
#define JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Containers open at once, at most; one more is "nesting too deep". */
#define JSCAN_MAX_DEPTH	64

enum jscan_type {
	JSCAN_NONE,			/* index -1: absent */
	JSCAN_OBJECT,
	JSCAN_ARRAY,
	JSCAN_STRING,
	JSCAN_NUMBER,
	JSCAN_TRUE,
	JSCAN_FALSE,
	JSCAN_NULL
};

struct jscan;

/*
 * Scans len bytes at buf, which need not be NUL-terminated and is not
 * kept.  Returns a new document, or NULL with a one-line reason in err
 * (such as "duplicate object key near '"type"'") and in *offset the byte
 * offset of the character at fault, len when the input ended too soon.
 * errno is ENOMEM when memory ran out and EINVAL for anything else.
 */
struct jscan	*jscan_new(const char *buf, size_t len, char *err,
		    size_t errlen, size_t *offset);
void		 jscan_free(struct jscan *);

int		 jscan_root(const struct jscan *);
enum jscan_type	 jscan_type(const struct jscan *, int tok);
bool		 jscan_is_object(const struct jscan *, int tok);
bool		 jscan_is_array(const struct jscan *, int tok);
bool		 jscan_is_string(const struct jscan *, int tok);
bool		 jscan_is_null(const struct jscan *, int tok);
/* A number written without fraction or exponent ("-0" included). */
bool		 jscan_is_int(const struct jscan *, int tok);

/*
 * An object's value for key, or -1 when it has none.  A key matches when
 * its decoded bytes are key's strlen(key) bytes: "a\u0000b" is not "a".
 */
int		 jscan_member(const struct jscan *, int obj, const char *key);
/* An object's members or an array's elements; 0 for anything else. */
size_t		 jscan_size(const struct jscan *, int tok);
/*
 * Walks a container: its first element (array) or first key (object),
 * -1 when it is empty; then jscan_next() gives the element or key after
 * tok, past all that tok holds.  Count to jscan_size(): jscan_next() of
 * the last child is not a child.  A key's value is key + 1.
 */
int		 jscan_first(const struct jscan *, int container);
int		 jscan_next(const struct jscan *, int tok);

/*
 * A string's decoded value, owned by the document; NULL for anything but
 * a string.  It is NUL-terminated, but may hold NULs of its own (from
 * \u0000): its length is jscan_length(), never strlen().
 */
const char	*jscan_string(const struct jscan *, int tok);
size_t		 jscan_length(const struct jscan *, int tok);
/* An integer literal's value; 0 for anything else. */
int64_t		 jscan_int(const struct jscan *, int tok);
/*
 * The four hex digits at s (of a \u escape) into *out.  Returns 0, or -1
 * when one is not a hex digit.
 */
int		 jscan_hex4(const char *s, uint32_t *out);

#endif
