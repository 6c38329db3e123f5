/*
 * test_lingering.c - the lingering close over real loopback TCP: a client
 * that sends its whole body after the answer went out still reads the
 * answer, and a client that sends past the byte bound is cut off.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "lingering.h"

static const char	answer[] = "HTTP/1.1 413 Content Too Large\r\n\r\n";

/* A connected pair on 127.0.0.1: *client and *server; every wait bounded. */
static void
tcp_pair(int *client, int *server)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	struct timeval		tv = { 10, 0 };
	int			lfd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(lfd, -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	*client = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(*client, -1);
	ck_assert_int_eq(connect(*client, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	*server = accept(lfd, NULL, NULL);
	ck_assert_int_ne(*server, -1);
	close(lfd);
	setsockopt(*client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(*client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Sends up to total bytes; returns how many went, stopping at an error. */
static size_t
send_body(int fd, size_t total, int *err)
{
	static char	chunk[32 << 10];
	size_t		sent = 0;
	ssize_t		n;

	memset(chunk, 'x', sizeof(chunk));
	*err = 0;
	while (sent < total) {
		n = send(fd, chunk, total - sent < sizeof(chunk) ?
		    total - sent : sizeof(chunk), MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*err = errno;
			break;
		}
		sent += (size_t)n;
	}
	return sent;
}

/* The server's answer, then its write side shut, as the listener does. */
static void
answer_early(int server)
{
	ck_assert_int_eq(write(server, answer, sizeof(answer) - 1),
	    (ssize_t)sizeof(answer) - 1);
	ck_assert_int_eq(shutdown(server, SHUT_WR), 0);
}

START_TEST(test_lingering_client_reads_answer)
{
	struct lingering	*lg;
	char			 err[128], buf[256];
	size_t			 total = 3 << 20;
	ssize_t			 n;
	int			 client, server, e;

	lg = lingering_new(16 << 20, err, sizeof(err));
	ck_assert_msg(lg != NULL, "%s", err);
	tcp_pair(&client, &server);
	answer_early(server);
	lingering_add(lg, server);
	/* 3 MiB, far more than the socket buffers hold: it must be read. */
	ck_assert_uint_eq(send_body(client, total, &e), total);
	ck_assert_int_eq(e, 0);
	n = recv(client, buf, sizeof(buf) - 1, MSG_WAITALL);
	ck_assert_int_eq(n, (ssize_t)sizeof(answer) - 1);
	buf[n] = '\0';
	ck_assert_str_eq(buf, answer);
	/* The client is done: the socket is closed, an end of file. */
	ck_assert_int_eq(shutdown(client, SHUT_WR), 0);
	ck_assert_int_eq(recv(client, buf, sizeof(buf), 0), 0);
	close(client);
	lingering_free(lg);
}
END_TEST

START_TEST(test_lingering_byte_bound)
{
	struct lingering	*lg;
	char			 err[128];
	size_t			 sent;
	int			 client, server, e;

	lg = lingering_new(64 << 10, err, sizeof(err));
	ck_assert_msg(lg != NULL, "%s", err);
	tcp_pair(&client, &server);
	answer_early(server);
	lingering_add(lg, server);
	/* Past the bound the socket is closed: sending fails. */
	sent = send_body(client, 64 << 20, &e);
	ck_assert_msg(e == EPIPE || e == ECONNRESET, "sent %zu, error %s",
	    sent, strerror(e));
	ck_assert_uint_lt(sent, 64 << 20);
	close(client);
	lingering_free(lg);
}
END_TEST

/* Sockets still lingering at the stop are closed, not leaked. */
START_TEST(test_lingering_free_closes)
{
	struct lingering	*lg;
	char			 err[128], buf[64];
	int			 client, server;

	lg = lingering_new(1 << 20, err, sizeof(err));
	ck_assert_msg(lg != NULL, "%s", err);
	tcp_pair(&client, &server);
	answer_early(server);
	lingering_add(lg, server);
	lingering_free(lg);
	ck_assert_int_eq(recv(client, buf, sizeof(buf), MSG_WAITALL),
	    (ssize_t)sizeof(answer) - 1);
	ck_assert_int_eq(recv(client, buf, sizeof(buf), 0), 0);
	close(client);
}
END_TEST

Suite *
suite_lingering(void)
{
	Suite	*s = suite_create("lingering");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lingering_client_reads_answer);
	tcase_add_test(tc, test_lingering_byte_bound);
	tcase_add_test(tc, test_lingering_free_closes);
	suite_add_tcase(s, tc);
	return s;
}
