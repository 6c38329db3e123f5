/*
 * fdutil.h - small descriptor chores shared by the daemon and the send
 * tool.
 */
#ifndef FDUTIL_H
#define FDUTIL_H

/*
 * Opens /dev/null on any of descriptors 0-2 that is closed, so that no
 * file opened later lands there and is taken for stdin, stdout or stderr.
 */
void	fdutil_std_open(void);
/*
 * Syncs the directory holding path, so that a name just created or
 * renamed there survives a crash too.  Best effort: errors are ignored.
 */
void	fdutil_sync_dir(const char *path);
/*
 * Raises the soft limit on open descriptors (RLIMIT_NOFILE) to the hard
 * one, for a server with many connections.  Returns the soft limit now.
 */
unsigned long long	fdutil_raise_nofile(void);

#endif
