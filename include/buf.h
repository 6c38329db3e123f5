/*
 * buf.h - a growable byte buffer.  Request bodies and records are built in
 * one; the bytes are always followed by a NUL that len does not count, so
 * data can be handed to functions that want a C string.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

struct buf	*buf_new(size_t cap);
void		 buf_free(struct buf *);
void		 buf_init(struct buf *);
void		 buf_fini(struct buf *);
int		 buf_reserve(struct buf *, size_t more);
int		 buf_append(struct buf *, const void *, size_t);
int		 buf_puts(struct buf *, const char *);
int		 buf_putc(struct buf *, char);
int		 buf_printf(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 buf_reset(struct buf *);

#endif
