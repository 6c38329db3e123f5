/*
 * jscan.c - scans a JSON text into a flat array of tokens in one pass over
 * the bytes, making the checks jansson makes (jscan.h lists them).  A
 * document is one allocation in the usual case: the header, room for a
 * first guess of tokens, and a string arena as long as the input, which
 * decoded strings never outgrow since no escape is shorter than what it
 * stands for.  More tokens than guessed move to an array that doubles;
 * an object of many keys adds a hash set for the duplicate check while
 * the scan runs.  What the values mean is left to callers (report.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/random.h>

#include "jscan.h"

/* Tokens the first allocation has room for, at most. */
#define JSCAN_FIRST_TOKS	4096
/* Keys an object's duplicate check compares one by one; then a set. */
#define JSCAN_LINEAR_KEYS	16
/* Longest piece of the input that a reason repeats. */
#define JSCAN_EXCERPT		24

/* Byte classes, for jscan_class[]. */
#define JSCAN_WS	0x1	/* insignificant whitespace */
#define JSCAN_END	0x2	/* ends a number or literal: {}[],:" ws ctl */
#define JSCAN_STOP	0x4	/* ends a run of plain bytes in a string */

static const unsigned char jscan_class[256] = {
	/* 0x00 - 0x1f: control characters; \t \n \r are whitespace too */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 6, 6, 7, 6, 6,
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
	/* ' ', '"', ',' */
	3, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
	/* ':' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* '[', '\\', ']' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 2, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* '{', '}' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 0,
	/* 0x80 - 0xff: UTF-8, checked apart */
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4
};

/*
 * 2^1024 - 2^970, halfway between DBL_MAX and 2^1024: the least value
 * that strtod() rounds to infinity.  309 digits.
 */
static const char jscan_real_max[] =
    "179769313486231580793728971405303415079934132710037826936173778980"
    "444968292764750946649017977587207096330286416692887910946555547851"
    "940402630657488671505820681908902000708383676273854845817711531764"
    "475730270069855571366959622842914819860834936475292719074168444365"
    "510704342711559699508093042880177904174497792";

struct jscan_tok {
	unsigned char	 type;		/* enum jscan_type */
	bool		 is_int;
	uint32_t	 n;		/* containers: children; strings: len */
	uint32_t	 next;		/* index past this and all it holds */
	union {
		const char	*str;	/* strings: in the arena */
		int64_t		 i;	/* integers */
	} v;
};

struct jscan {
	struct jscan_tok	*toks;		/* first[], or grown apart */
	uint32_t		 ntoks;
	uint32_t		 cap;
	char			*arena;		/* after first[] */
	struct jscan_tok	 first[];
};

/* An open container. */
struct jscan_level {
	uint32_t	 tok;
	uint32_t	 key;		/* objects: the last key read */
};

struct jscan_state {
	struct jscan		*doc;
	const unsigned char	*buf;
	const unsigned char	*p;		/* the next byte to read */
	const unsigned char	*end;
	char			*out;		/* free arena */
	struct jscan_level	 stack[JSCAN_MAX_DEPTH];
	int			 depth;
	/* Keys of large objects, (object << 32 | key); 0 is free. */
	uint64_t		*set;
	size_t			 setcap;
	size_t			 setlen;
	uint64_t		 seed;
	char			*err;
	size_t			 errlen;
	size_t			 offset;
	int			 errnum;
};

static void	 jscan_fail(struct jscan_state *, const unsigned char *,
		    const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Records why the scan fails at byte at; the first reason stays. */
static void
jscan_fail(struct jscan_state *st, const unsigned char *at,
    const char *fmt, ...)
{
	va_list	 ap;

	if (st->errnum != 0)
		return;
	st->errnum = EINVAL;
	st->offset = (size_t)(at - st->buf);
	if (st->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(st->err, st->errlen, fmt, ap);
		va_end(ap);
	}
}

static void
jscan_nomem(struct jscan_state *st)
{
	if (st->errnum != 0)
		return;
	jscan_fail(st, st->p, "out of memory");
	st->errnum = ENOMEM;
}

/* The length of the UTF-8 character at p, or 0 when it is not one. */
static size_t
jscan_utf8(const unsigned char *p, const unsigned char *end)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4)		/* overlong or too big */
		return 0;
	if (p[0] < 0xe0)
		n = 2;
	else if (p[0] < 0xf0) {
		n = 3;
		if (p[0] == 0xe0)		/* overlong */
			lo = 0xa0;
		else if (p[0] == 0xed)		/* surrogates */
			hi = 0x9f;
	} else {
		n = 4;
		if (p[0] == 0xf0)		/* overlong */
			lo = 0x90;
		else if (p[0] == 0xf4)		/* above U+10FFFF */
			hi = 0x8f;
	}
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * How many bytes at p a reason repeats: whole characters, at most max
 * bytes, never a control character or a byte that is not UTF-8.  A string
 * ends after its closing quote, a structural character is one, anything
 * else ends before whitespace or a structural character.
 */
static int
jscan_excerpt(const unsigned char *p, const unsigned char *end, size_t max)
{
	const unsigned char	*q = p;
	size_t			 n;
	bool			 in_string = *p == '"', escaped = false;

	while (q < end && *q >= 0x20 && (n = jscan_utf8(q, end)) > 0 &&
	    (size_t)(q - p) + n <= max) {
		if (in_string) {
			if (q > p && *q == '"' && !escaped) {
				q++;
				break;
			}
			escaped = !escaped && *q == '\\';
		} else if (q > p && (jscan_class[*q] & JSCAN_END))
			break;
		q += n;
		if (!in_string && (jscan_class[*p] & JSCAN_END))
			break;
	}
	return (int)(q - p);
}

/* Fails at at with "<what> near '<the text at at>'". */
static void
jscan_fail_near(struct jscan_state *st, const unsigned char *at,
    size_t max, const char *what)
{
	jscan_fail(st, at, "%s near '%.*s'", what,
	    jscan_excerpt(at, st->end, max), (const char *)at);
}

/*
 * Fails at st->p, where the text does not go on as it must: what says
 * what was expected, unless the byte is wrong whatever came before.
 */
static void
jscan_unexpected(struct jscan_state *st, const char *what)
{
	const unsigned char	*p = st->p;

	if (p == st->end)
		jscan_fail(st, p, "unexpected end of input");
	else if (*p < 0x20)
		jscan_fail(st, p, "control character 0x%02x", *p);
	else if (jscan_utf8(p, st->end) == 0)
		jscan_fail(st, p, "invalid UTF-8");
	else
		jscan_fail_near(st, p, JSCAN_EXCERPT, what);
}

static void
jscan_eof(struct jscan_state *st)
{
	jscan_fail(st, st->end, "unexpected end of input");
}

static void
jscan_ws(struct jscan_state *st)
{
	const unsigned char	*p = st->p, *end = st->end;

	while (p < end && (jscan_class[*p] & JSCAN_WS))
		p++;
	st->p = p;
}

/* A new token, its index one less than doc->ntoks; NULL: ENOMEM. */
static struct jscan_tok *
jscan_tok_new(struct jscan_state *st, enum jscan_type type)
{
	struct jscan		*doc = st->doc;
	struct jscan_tok	*t;
	size_t			 cap;

	if (doc->ntoks == doc->cap) {
		/* Fits: there are fewer tokens than bytes, below INT_MAX. */
		cap = (size_t)doc->cap * 2;
		if (cap > SIZE_MAX / sizeof(*t)) {
			jscan_nomem(st);
			return NULL;
		}
		if (doc->toks == doc->first) {
			if ((t = malloc(cap * sizeof(*t))) != NULL)
				memcpy(t, doc->toks, doc->ntoks * sizeof(*t));
		} else
			t = realloc(doc->toks, cap * sizeof(*t));
		if (t == NULL) {
			jscan_nomem(st);
			return NULL;
		}
		doc->toks = t;
		doc->cap = (uint32_t)cap;
	}
	t = &doc->toks[doc->ntoks++];
	t->type = (unsigned char)type;
	t->is_int = false;
	t->n = 0;
	t->next = doc->ntoks;
	return t;
}

int
jscan_hex4(const char *s, uint32_t *out)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 v = 0;
	int			 i, d;

	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
			d = (p[i] | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/*
 * Decodes the \u escape (or surrogate pair) at esc, the backslash, into
 * out; a lone surrogate becomes U+FFFD.  Returns the bytes written, or 0
 * after failing.  *used is the length of the escape.
 */
static size_t
jscan_unicode(struct jscan_state *st, const unsigned char *esc, char *out,
    size_t *used)
{
	const unsigned char	*end = st->end;
	uint32_t		 cp, lo;
	size_t			 n = 0;

	*used = 6;
	if (end - esc < 6) {
		jscan_eof(st);
		goto done;
	}
	if (jscan_hex4((const char *)esc + 2, &cp) == -1) {
		jscan_fail_near(st, esc, 6, "invalid Unicode escape");
		goto done;
	}
	if (cp >= 0xd800 && cp <= 0xdbff && end - esc >= 12 &&
	    esc[6] == '\\' && esc[7] == 'u' && jscan_hex4((const char *)esc + 8, &lo) == 0 &&
	    lo >= 0xdc00 && lo <= 0xdfff) {
		*used = 12;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xd800 && cp <= 0xdfff) {
		/*
		 * A lone surrogate: valid JSON, but no character, so not
		 * UTF-8.  It decodes as U+FFFD, the replacement character,
		 * and what follows it is read on its own.
		 */
		cp = 0xfffd;
	}
	/* \u0000 too: a string's length is its token's, not strlen(). */
	if (cp < 0x80)
		out[n++] = (char)cp;
	else if (cp < 0x800) {
		out[n++] = (char)(0xc0 | cp >> 6);
		out[n++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[n++] = (char)(0xe0 | cp >> 12);
		out[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[n++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[n++] = (char)(0xf0 | cp >> 18);
		out[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[n++] = (char)(0x80 | (cp & 0x3f));
	}
done:
	return n;
}

/*
 * Scans the string whose opening quote is at st->p, decoding it into the
 * arena for t, and leaves st->p past the closing quote.
 */
static int
jscan_scan_string(struct jscan_state *st, struct jscan_tok *t)
{
	const unsigned char	*p = st->p + 1, *end = st->end, *run = p;
	char			*start = st->out, *out = st->out, c;
	size_t			 n, used;
	int			 ret = -1;

	for (;;) {
		while (p < end && !(jscan_class[*p] & JSCAN_STOP))
			p++;
		if (p == end) {
			jscan_eof(st);
			goto done;
		}
		if (*p == '"')
			break;
		if (*p >= 0x80) {
			if ((n = jscan_utf8(p, end)) == 0) {
				jscan_fail(st, p, "invalid UTF-8");
				goto done;
			}
			p += n;
			continue;
		}
		if (*p < 0x20) {
			jscan_fail(st, p, "control character 0x%02x in string",
			    *p);
			goto done;
		}
		/* A backslash: keep the run so far, then what it stands for. */
		memcpy(out, run, (size_t)(p - run));
		out += p - run;
		if (p + 1 == end) {
			jscan_eof(st);
			goto done;
		}
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
			c = (char)p[1];
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			if ((n = jscan_unicode(st, p, out, &used)) == 0)
				goto done;
			out += n;
			p += used;
			run = p;
			continue;
		default:
			jscan_fail_near(st, p, 2, "invalid escape");
			goto done;
		}
		*out++ = c;
		p += 2;
		run = p;
	}
	memcpy(out, run, (size_t)(p - run));
	out += p - run;
	*out++ = '\0';
	t->n = (uint32_t)(out - start - 1);
	t->v.str = start;
	st->out = out;
	st->p = p + 1;
	ret = 0;
done:
	return ret;
}

static uint64_t
jscan_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/*
 * Where key, a key of object obj, sits in the set.  The seed is random,
 * so that a body cannot be made of keys that all land in one place.
 */
static uint64_t
jscan_hash(const struct jscan_state *st, uint32_t obj,
    const struct jscan_tok *key)
{
	const char	*s = key->v.str;
	uint64_t	 h = jscan_mix(st->seed ^ obj), w;
	size_t		 i;

	for (i = 0; i + 8 <= key->n; i += 8) {
		memcpy(&w, s + i, 8);
		h = jscan_mix(h ^ w);
	}
	w = 0;
	memcpy(&w, s + i, key->n - i);
	return jscan_mix(h ^ w ^ (uint64_t)key->n << 56);
}

static int
jscan_set_grow(struct jscan_state *st)
{
	uint64_t	*set, e;
	size_t		 cap, i, j;

	if (st->set == NULL && getrandom(&st->seed, sizeof(st->seed),
	    GRND_NONBLOCK) != (ssize_t)sizeof(st->seed))
		st->seed = (uint64_t)(uintptr_t)st ^ (uint64_t)time(NULL);
	cap = st->setcap > 0 ? st->setcap * 2 : 64;
	if (cap > SIZE_MAX / sizeof(*set) ||
	    (set = calloc(cap, sizeof(*set))) == NULL) {
		jscan_nomem(st);
		return -1;
	}
	for (i = 0; i < st->setcap; i++) {
		if ((e = st->set[i]) == 0)
			continue;
		j = jscan_hash(st, (uint32_t)(e >> 32),
		    &st->doc->toks[(uint32_t)e]) & (cap - 1);
		while (set[j] != 0)
			j = (j + 1) & (cap - 1);
		set[j] = e;
	}
	free(st->set);
	st->set = set;
	st->setcap = cap;
	return 0;
}

/* Equal strings; the first bytes, NULs at worst, spare most memcmp()s. */
static bool
jscan_same(const struct jscan_tok *a, const struct jscan_tok *b)
{
	return a->n == b->n && a->v.str[0] == b->v.str[0] &&
	    memcmp(a->v.str, b->v.str, a->n) == 0;
}

/*
 * Adds key (a token index) of object obj to the set.  Returns 1 when obj
 * has an equal key there already, 0 when added, -1 without memory.
 */
static int
jscan_set_add(struct jscan_state *st, uint32_t obj, uint32_t key)
{
	const struct jscan_tok	*toks = st->doc->toks;
	uint64_t		 e;
	size_t			 i;

	if ((st->setlen + 1) * 2 > st->setcap && jscan_set_grow(st) == -1)
		return -1;
	for (i = jscan_hash(st, obj, &toks[key]) & (st->setcap - 1);
	    (e = st->set[i]) != 0; i = (i + 1) & (st->setcap - 1))
		if ((uint32_t)(e >> 32) == obj &&
		    jscan_same(&toks[(uint32_t)e], &toks[key]))
			return 1;
	st->set[i] = (uint64_t)obj << 32 | key;
	st->setlen++;
	return 0;
}

/*
 * Whether key, just read for the object open at lv, repeats an earlier
 * key of that object.  Returns 1 if so, 0 if not, -1 without memory.
 * Small objects compare key by key; from JSCAN_LINEAR_KEYS on, an object's
 * keys go to the set, so that many keys cost linear time.
 */
static int
jscan_dup(struct jscan_state *st, const struct jscan_level *lv,
    uint32_t key)
{
	const struct jscan_tok	*toks = st->doc->toks;
	uint32_t		 n = toks[lv->tok].n, i, k;

	if (n < JSCAN_LINEAR_KEYS) {
		for (i = 0, k = lv->tok + 1; i < n; i++, k = toks[k].next)
			if (jscan_same(&toks[k], &toks[key]))
				return 1;
		return 0;
	}
	if (n == JSCAN_LINEAR_KEYS)
		for (i = 0, k = lv->tok + 1; i < n; i++, k = toks[k].next)
			if (jscan_set_add(st, lv->tok, k) == -1)
				return -1;
	return jscan_set_add(st, lv->tok, key);
}

/*
 * Reads a key of the object open at the top of the stack and the colon
 * after it.  what names what else could have stood at st->p.
 */
static int
jscan_key(struct jscan_state *st, const char *what)
{
	struct jscan_level	*lv = &st->stack[st->depth - 1];
	struct jscan_tok	*t;
	const unsigned char	*quote = st->p;
	uint32_t		 key;
	int			 dup, ret = -1;

	if (st->p == st->end || *st->p != '"') {
		jscan_unexpected(st, what);
		goto done;
	}
	if ((t = jscan_tok_new(st, JSCAN_STRING)) == NULL ||
	    jscan_scan_string(st, t) == -1)
		goto done;
	key = st->doc->ntoks - 1;
	if ((dup = jscan_dup(st, lv, key)) != 0) {
		if (dup == 1)
			jscan_fail_near(st, quote, JSCAN_EXCERPT,
			    "duplicate object key");
		goto done;
	}
	st->doc->toks[lv->tok].n++;
	lv->key = key;
	jscan_ws(st);
	if (st->p == st->end || *st->p != ':') {
		jscan_unexpected(st, "':' expected");
		goto done;
	}
	st->p++;
	ret = 0;
done:
	return ret;
}

static bool
jscan_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Digit k of a number's integer digits followed by its fraction's. */
static unsigned char
jscan_nth(const unsigned char *ip, size_t nint, const unsigned char *fp,
    size_t k)
{
	return k < nint ? ip[k] : fp[k - nint];
}

/*
 * Whether a real number overflows a double: whether its value is at
 * least jscan_real_max.  Deciding on the digits gives strtod()'s answer
 * without copying the number, whatever the locale's decimal point.
 */
static bool
jscan_real_overflows(const unsigned char *ip, size_t nint,
    const unsigned char *fp, size_t nfrac, int64_t exp)
{
	const size_t	 nmax = sizeof(jscan_real_max) - 1;
	size_t		 nd = nint + nfrac, lead, i, j;
	unsigned char	 d;
	int64_t		 e;
	bool		 over = false;

	for (lead = 0; lead < nd && jscan_nth(ip, nint, fp, lead) == '0';
	    lead++)
		;
	if (lead == nd)				/* zero */
		goto done;
	/* The value is 0.<digits from lead> * 10^e; the bound's e is nmax. */
	e = (int64_t)nint - (int64_t)lead + exp;
	if (e != (int64_t)nmax) {
		over = e > (int64_t)nmax;
		goto done;
	}
	for (i = lead, j = 0; i < nd && j < nmax; i++, j++) {
		d = jscan_nth(ip, nint, fp, i);
		if (d != (unsigned char)jscan_real_max[j]) {
			over = d > (unsigned char)jscan_real_max[j];
			goto done;
		}
	}
	/* Equal as far as both go: the bound has no trailing zeros. */
	over = j == nmax;
done:
	return over;
}

static int
jscan_number(struct jscan_state *st, struct jscan_tok *t)
{
	const unsigned char	*p = st->p, *end = st->end, *start = p;
	const unsigned char	*ip, *fp;
	size_t			 nint, nfrac = 0;
	uint64_t		 v = 0;
	int64_t			 exp = 0;
	bool			 ok, neg = false, eneg = false, is_int = true;
	int			 ret = -1;

	if (*p == '-') {
		neg = true;
		p++;
	}
	ip = p;
	if (p < end && *p == '0')
		p++;
	else
		for (; p < end && jscan_digit(*p); p++)
			v = v * 10 + (uint64_t)(*p - '0');
	nint = (size_t)(p - ip);
	ok = nint > 0;
	fp = p;
	if (ok && p < end && *p == '.') {
		for (fp = ++p; p < end && jscan_digit(*p); p++)
			;
		nfrac = (size_t)(p - fp);
		ok = nfrac > 0;
		is_int = false;
	}
	if (ok && p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		ok = p < end && jscan_digit(*p);
		/*
		 * Past 10^15, far beyond any count of digits, the answer
		 * is the same: zero or overflow.
		 */
		for (; p < end && jscan_digit(*p); p++)
			if (exp < 1000000000000000)
				exp = exp * 10 + (*p - '0');
		is_int = false;
	}
	/* "01", "1x" and the like are one bad token, not two. */
	if (!ok || (p < end && !(jscan_class[*p] & JSCAN_END))) {
		jscan_fail_near(st, start, JSCAN_EXCERPT, "invalid token");
		goto done;
	}
	if (is_int) {
		/* 19 digits fit a uint64_t; 20 overflow an int64_t anyway. */
		if (nint > 19 || v > (uint64_t)INT64_MAX + neg) {
			jscan_fail_near(st, start, JSCAN_EXCERPT, neg ?
			    "too big negative integer" : "too big integer");
			goto done;
		}
		t->is_int = true;
		/* -(2^63) is an int64_t, 2^63 is not. */
		t->v.i = !neg ? (int64_t)v : v == 0 ? 0 : -(int64_t)(v - 1) - 1;
	} else if (jscan_real_overflows(ip, nint, fp, nfrac,
	    eneg ? -exp : exp)) {
		jscan_fail_near(st, start, JSCAN_EXCERPT,
		    "real number overflow");
		goto done;
	}
	st->p = p;
	ret = 0;
done:
	return ret;
}

/* true, false or null, spelt word, at st->p. */
static int
jscan_literal(struct jscan_state *st, const char *word,
    enum jscan_type type)
{
	const unsigned char	*p = st->p, *end = st->end;
	size_t			 n = strlen(word);
	int			 ret = -1;

	if ((size_t)(end - p) < n || memcmp(p, word, n) != 0 ||
	    (p + n < end && !(jscan_class[p[n]] & JSCAN_END))) {
		jscan_fail_near(st, p, JSCAN_EXCERPT, "invalid token");
		goto done;
	}
	if (jscan_tok_new(st, type) == NULL)
		goto done;
	st->p = p + n;
	ret = 0;
done:
	return ret;
}

/*
 * After a value: closes the containers that end here.  Returns 0 when a
 * value follows (st->p at it), 1 when the top-level value is complete, -1
 * after failing.
 */
static int
jscan_close(struct jscan_state *st)
{
	struct jscan		*doc = st->doc;
	struct jscan_level	*lv;
	struct jscan_tok	*t;
	int			 ret = 1;

	while (st->depth > 0) {
		lv = &st->stack[st->depth - 1];
		t = &doc->toks[lv->tok];
		jscan_ws(st);
		if (st->p == st->end) {
			jscan_eof(st);
			ret = -1;
			break;
		}
		if (t->type == JSCAN_OBJECT) {
			if (*st->p == ',' || *st->p == '}')
				doc->toks[lv->key].next = doc->ntoks;
			if (*st->p == ',') {
				st->p++;
				jscan_ws(st);
				ret = jscan_key(st, "string expected");
				break;
			}
			if (*st->p != '}') {
				jscan_unexpected(st, "',' or '}' expected");
				ret = -1;
				break;
			}
		} else {
			if (*st->p == ',') {
				st->p++;
				ret = 0;
				break;
			}
			if (*st->p != ']') {
				jscan_unexpected(st, "',' or ']' expected");
				ret = -1;
				break;
			}
		}
		t->next = doc->ntoks;
		st->depth--;
		st->p++;
	}
	return ret;
}

/* The value at st->p opens a container. */
static int
jscan_open(struct jscan_state *st)
{
	struct jscan_level	*lv;
	enum jscan_type		 type;
	int			 ret = -1;

	if (st->depth == JSCAN_MAX_DEPTH) {
		jscan_fail(st, st->p, "nesting too deep");
		goto done;
	}
	type = *st->p == '{' ? JSCAN_OBJECT : JSCAN_ARRAY;
	if (jscan_tok_new(st, type) == NULL)
		goto done;
	lv = &st->stack[st->depth++];
	lv->tok = st->doc->ntoks - 1;
	st->p++;
	jscan_ws(st);
	if (st->p < st->end && *st->p == (type == JSCAN_OBJECT ? '}' : ']')) {
		/* Empty: its next is right already. */
		st->depth--;
		st->p++;
		ret = 1;
	} else if (type == JSCAN_ARRAY ||
	    jscan_key(st, "string or '}' expected") == 0)
		ret = 0;
done:
	return ret;
}

static int
jscan_scan(struct jscan_state *st)
{
	struct jscan		*doc = st->doc;
	struct jscan_tok	*t;
	int			 ret = -1, more;

	do {
		/* A value: first, after '[', after ',' in an array, or ':'. */
		jscan_ws(st);
		if (st->p == st->end) {
			jscan_eof(st);
			goto done;
		}
		if (st->depth > 0) {
			t = &doc->toks[st->stack[st->depth - 1].tok];
			if (t->type == JSCAN_ARRAY)
				t->n++;
		}
		switch (*st->p) {
		case '{':
		case '[':
			if ((more = jscan_open(st)) == -1)
				goto done;
			if (more == 0)
				continue;
			break;
		case '"':
			if ((t = jscan_tok_new(st, JSCAN_STRING)) == NULL ||
			    jscan_scan_string(st, t) == -1)
				goto done;
			break;
		case 't':
			if (jscan_literal(st, "true", JSCAN_TRUE) == -1)
				goto done;
			break;
		case 'f':
			if (jscan_literal(st, "false", JSCAN_FALSE) == -1)
				goto done;
			break;
		case 'n':
			if (jscan_literal(st, "null", JSCAN_NULL) == -1)
				goto done;
			break;
		case '-':
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7':
		case '8':
		case '9':
			if ((t = jscan_tok_new(st, JSCAN_NUMBER)) == NULL ||
			    jscan_number(st, t) == -1)
				goto done;
			break;
		default:
			jscan_unexpected(st, jscan_class[*st->p] & JSCAN_END ?
			    "unexpected token" : "invalid token");
			goto done;
		}
		if ((more = jscan_close(st)) == -1)
			goto done;
	} while (more == 0);
	jscan_ws(st);
	if (st->p != st->end) {
		jscan_unexpected(st, "end of file expected");
		goto done;
	}
	ret = 0;
done:
	return ret;
}

struct jscan *
jscan_new(const char *buf, size_t len, char *err, size_t errlen,
    size_t *offset)
{
	struct jscan_state	 st;
	struct jscan		*doc = NULL;
	size_t			 cap;
	int			 ret = -1;

	if (buf == NULL)
		buf = "";
	st.doc = NULL;
	st.buf = st.p = (const unsigned char *)buf;
	st.end = st.buf + len;
	st.depth = 0;
	st.set = NULL;
	st.setcap = st.setlen = 0;
	st.seed = 0;
	st.err = err;
	st.errlen = errlen;
	st.offset = 0;
	st.errnum = 0;
	if (errlen > 0)
		err[0] = '\0';
	/* Token indices are ints, and there are never more than bytes. */
	if (len >= INT_MAX) {
		jscan_fail(&st, st.p, "document too large");
		goto done;
	}
	cap = len / 8 + 8;
	if (cap > JSCAN_FIRST_TOKS)
		cap = JSCAN_FIRST_TOKS;
	if ((doc = malloc(sizeof(*doc) + cap * sizeof(doc->first[0]) + len +
	    1)) == NULL) {
		jscan_nomem(&st);
		goto done;
	}
	doc->toks = doc->first;
	doc->ntoks = 0;
	doc->cap = (uint32_t)cap;
	doc->arena = (char *)(doc->first + cap);
	st.doc = doc;
	st.out = doc->arena;
	ret = jscan_scan(&st);
done:
	free(st.set);
	if (ret == -1) {
		jscan_free(doc);
		doc = NULL;
		if (offset != NULL)
			*offset = st.offset;
		errno = st.errnum;
	}
	return doc;
}

void
jscan_free(struct jscan *doc)
{
	if (doc == NULL)
		return;
	if (doc->toks != doc->first)
		free(doc->toks);
	free(doc);
}

/* Token tok, or NULL for -1 or any index that is not a token. */
static const struct jscan_tok *
jscan_tok(const struct jscan *doc, int tok)
{
	return tok >= 0 && (uint32_t)tok < doc->ntoks ? &doc->toks[tok] :
	    NULL;
}

int
jscan_root(const struct jscan *doc)
{
	return doc->ntoks > 0 ? 0 : -1;
}

enum jscan_type
jscan_type(const struct jscan *doc, int tok)
{
	const struct jscan_tok	*t = jscan_tok(doc, tok);

	return t != NULL ? (enum jscan_type)t->type : JSCAN_NONE;
}

bool
jscan_is_object(const struct jscan *doc, int tok)
{
	return jscan_type(doc, tok) == JSCAN_OBJECT;
}

bool
jscan_is_array(const struct jscan *doc, int tok)
{
	return jscan_type(doc, tok) == JSCAN_ARRAY;
}

bool
jscan_is_string(const struct jscan *doc, int tok)
{
	return jscan_type(doc, tok) == JSCAN_STRING;
}

bool
jscan_is_null(const struct jscan *doc, int tok)
{
	return jscan_type(doc, tok) == JSCAN_NULL;
}

bool
jscan_is_int(const struct jscan *doc, int tok)
{
	const struct jscan_tok	*t = jscan_tok(doc, tok);

	return t != NULL && t->is_int;
}

int
jscan_member(const struct jscan *doc, int obj, const char *key)
{
	const struct jscan_tok	*t = jscan_tok(doc, obj), *k;
	size_t			 len = strlen(key);
	uint32_t		 i, j;
	int			 found = -1;

	if (t == NULL || t->type != JSCAN_OBJECT)
		goto done;
	for (i = 0, j = (uint32_t)obj + 1; i < t->n; i++, j = k->next) {
		k = &doc->toks[j];
		if (k->n == len && k->v.str[0] == key[0] &&
		    memcmp(k->v.str, key, len) == 0) {
			found = (int)j + 1;
			break;
		}
	}
done:
	return found;
}

size_t
jscan_size(const struct jscan *doc, int tok)
{
	const struct jscan_tok	*t = jscan_tok(doc, tok);

	return t != NULL && (t->type == JSCAN_OBJECT ||
	    t->type == JSCAN_ARRAY) ? t->n : 0;
}

int
jscan_first(const struct jscan *doc, int container)
{
	return jscan_size(doc, container) > 0 ? container + 1 : -1;
}

int
jscan_next(const struct jscan *doc, int tok)
{
	const struct jscan_tok	*t = jscan_tok(doc, tok);

	return t != NULL ? (int)t->next : -1;
}

const char *
jscan_string(const struct jscan *doc, int tok)
{
	const struct jscan_tok	*t = jscan_tok(doc, tok);

	return t != NULL && t->type == JSCAN_STRING ? t->v.str : NULL;
}

size_t
jscan_length(const struct jscan *doc, int tok)
{
	const struct jscan_tok	*t = jscan_tok(doc, tok);

	return t != NULL && t->type == JSCAN_STRING ? t->n : 0;
}

int64_t
jscan_int(const struct jscan *doc, int tok)
{
	const struct jscan_tok	*t = jscan_tok(doc, tok);

	return t != NULL && t->is_int ? t->v.i : 0;
}
