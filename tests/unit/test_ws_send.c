/* test_ws_send: sending with ws (see test_ws for the harness, tests/lib/wst.c):
 * the send queue, big messages, ordering, ENOBUFS, direct writes, slow
 * readers and write failures. Loopback, ephemeral ports only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "err.h"
#include "log.h"
#include "ws.h"
#include "ws_int.h" /* test_txq: the send queue on its own */
#include "wst.h"

static void test_big_message(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	size_t n = 300 * 1024;
	char *m = malloc(n);

	for (size_t i = 0; i < n; i++)
		m[i] = (char)('a' + (i * 7 + i / 1000) % 26);
	assert_int_equal(wst_connect(t, 0, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, m, n), 0); /* queued before open */
	assert_int_equal(ws_queued(t->cli[0].c), n);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 5000));
	assert_int_equal(t->srv[0].last_len, n);
	assert_memory_equal(t->srv[0].last, m, n);
	assert_int_equal(t->cli[0].last_len, n);
	assert_memory_equal(t->cli[0].last, m, n);
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	free(m);
	wst_free(t);
}

/* Decodes the frame at p (as a peer would): payload into out, unmasked;
 * returns the frame's size. Checks FIN + text and the shortest length
 * encoding (RFC 6455 5.2: "the minimal number of bytes MUST be used"). */
static size_t txq_decode(const unsigned char *p, unsigned char *out, size_t *len, bool *masked)
{
	size_t l = p[1] & 0x7f, h = 2;

	assert_int_equal(p[0], 0x81);
	if (l == 126) {
		l = ((size_t)p[2] << 8) | p[3];
		h = 4;
		assert_true(l >= 126 && l < 65536);
	} else if (l == 127) {
		l = 0;
		for (int i = 2; i < 10; i++)
			l = (l << 8) | p[i];
		h = 10;
		assert_true(l >= 65536);
	}
	*masked = p[1] & 0x80;
	for (size_t i = 0; i < l; i++)
		out[i] = *masked ? p[h + 4 + i] ^ p[h + (i & 3)] : p[h + i];
	*len = l;
	return h + (*masked ? 4 : 0) + l;
}

/* The send queue's one buffer of built frames: FIFO order across
 * compaction and growth, the three length encodings, masking, whole
 * frames per write chunk, bounded by its limit even for empty messages,
 * freed when a burst drained, reused (no new buffer) in the steady state. */
static void test_txq(void **state)
{
	(void)state;
	ws_txq q = { 0 };
	static unsigned char m[70000], out[70000];
	const uint8_t mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	size_t len, bytes, payload, pushed = 0, popped = 0;
	unsigned char *p, *buf;
	bool masked;

	for (size_t i = 0; i < sizeof(m); i++)
		m[i] = (unsigned char)('a' + i % 26);
	/* steady state: push one, write one, the buffer stays the same */
	assert_int_equal(ws_txq_push(&q, m, 330, NULL, 1 << 20), 0);
	buf = q.buf;
	for (int i = 0; i < 1000; i++) {
		p = ws_txq_peek(&q, WS_TX_CHUNK, &bytes, &payload);
		assert_int_equal(bytes, 4 + 330);
		assert_int_equal(payload, 330);
		assert_int_equal(txq_decode(p, out, &len, &masked), bytes);
		assert_false(masked);
		assert_memory_equal(out, m, 330);
		ws_txq_consume(&q, bytes);
		assert_int_equal(ws_txq_push(&q, m, 330, NULL, 1 << 20), 0);
		assert_ptr_equal(q.buf, buf);
	}
	p = ws_txq_peek(&q, WS_TX_CHUNK, &bytes, &payload);
	ws_txq_consume(&q, bytes);
	assert_true(ws_txq_empty(&q));
	assert_null(ws_txq_peek(&q, WS_TX_CHUNK, &bytes, &payload));
	assert_int_equal(bytes, 0);
	/* a queue that never drains: sizes 0..69999 (all three encodings),
	 * every other one masked; write chunks of at most 3000 bytes */
	for (int r = 0; r < 3000; r++) {
		size_t n = r % 50 == 7 ? 65536 + (size_t)r : (size_t)(r * 7919) % 3000;

		assert_int_equal(ws_txq_push(&q, m + (sizeof(m) - n), n, r % 2 ? mask : NULL, 1 << 26), 0);
		pushed++;
		if (r % 3 == 0)
			continue;
		p = ws_txq_peek(&q, 3000, &bytes, &payload);
		assert_non_null(p);
		{
			size_t off = 0, pl = 0;
			int k = 0;

			while (off < bytes) {
				size_t want = popped % 50 == 7 ? 65536 + popped : (popped * 7919) % 3000;

				off += txq_decode(p + off, out, &len, &masked);
				assert_int_equal(len, want);
				assert_int_equal(masked, popped % 2 == 1);
				assert_memory_equal(out, m + (sizeof(m) - want), want);
				pl += len;
				popped++;
				k++;
			}
			assert_int_equal(off, bytes);
			assert_int_equal(pl, payload);
			/* whole frames, within the chunk unless one frame is bigger */
			assert_true(bytes <= 3000 || k == 1);
		}
		ws_txq_consume(&q, bytes);
	}
	while (!ws_txq_empty(&q)) {
		p = ws_txq_peek(&q, WS_TX_CHUNK, &bytes, &payload);
		for (size_t off = 0; off < bytes; popped++) {
			size_t want = popped % 50 == 7 ? 65536 + popped : (popped * 7919) % 3000;

			off += txq_decode(p + off, out, &len, &masked);
			assert_int_equal(len, want);
			assert_memory_equal(out, m + (sizeof(m) - want), want);
		}
		ws_txq_consume(&q, bytes);
	}
	assert_int_equal(popped, pushed);
	/* drained after a burst: the big buffer is gone */
	assert_null(q.buf);
	/* the limit counts headers: empty messages cannot grow it forever */
	for (int i = 0; i < 100000 && ws_txq_push(&q, "", 0, NULL, 4096) == 0; i++)
		pushed++;
	assert_int_equal(ws_txq_push(&q, "", 0, NULL, 4096), -ENOBUFS);
	assert_true(q.cap <= 2 * (4096 + LWS_PRE)); /* doubling, bounded */
	assert_int_equal(ws_txq_push(&q, m, 5000, NULL, 4096), -ENOBUFS);
	ws_txq_free(&q);
	assert_null(q.buf);
}

/* Many messages of mixed sizes queued before the handshake (the queue
 * grows and compacts) arrive complete and in order. */
static char qo_m[5000];

static size_t qo_len(int i)
{
	return (size_t)(i * 613) % sizeof(qo_m);
}

static bool qo_check(int i, const char *d, size_t n)
{
	return n == qo_len(i) && !memcmp(d, qo_m, n);
}

static void test_queue_order(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	int n = 400;

	for (size_t i = 0; i < sizeof(qo_m); i++)
		qo_m[i] = (char)('A' + i % 23);
	t->srv_echo = false;
	t->srv_check = qo_check;
	assert_int_equal(wst_connect(t, 0, "/q", NULL), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(ws_send_text(t->cli[0].c, qo_m, qo_len(i)), 0);
	assert_true(RUN_UNTIL(t, x->srv[0].ntext == n, 5000));
	assert_int_equal(t->srv_bad, 0);
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	/* and again once open, from the server side too (other masking) */
	t->srv_check = NULL;
	for (int i = 0; i < n; i++)
		assert_int_equal(ws_send_text(t->srv[0].c, qo_m, qo_len(i)), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == n, 5000));
	assert_int_equal(t->cli[0].last_len, qo_len(n - 1));
	wst_free(t);
}

static void test_enobufs(void **state)
{
	(void)state;
	ws_opts o = { .max_queue = 1000 };
	wst *t = wst_new(&o);
	char m[600];

	memset(m, 'q', sizeof(m));
	assert_int_equal(wst_connect(t, 0, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, m, sizeof(m)), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, m, sizeof(m)), -ENOBUFS);
	assert_int_equal(ws_queued(t->cli[0].c), sizeof(m));
	assert_int_equal(ws_send_text(t->cli[0].c, m, 400), 0);
	assert_int_equal(ws_queued(t->cli[0].c), 1000);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 2, 3000));
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	assert_int_equal(t->cli[0].last_len, 400);
	wst_free(t);
}

/* ---- direct writes (ws_send_text writing at once when nothing is queued) ---- */
#define DW_BIG (160 * 1024)
static char dw_fill[DW_BIG + 64];

/* Message i: "%06d:" then filler; every 97th is big enough to choke the
 * socket (lws sends ~4 KiB per write and buffers the rest itself). */
static size_t dw_len(int i)
{
	return i % 97 == 13 ? DW_BIG - (size_t)i : 8 + (size_t)(i * 613) % 3000;
}

static size_t dw_make(int i, char *out)
{
	size_t n = dw_len(i);
	char hdr[8];

	snprintf(hdr, sizeof(hdr), "%06d:", i);
	memcpy(out, hdr, 7);
	memcpy(out + 7, dw_fill + i % 31, n - 7);
	return n;
}

static bool dw_check(int i, const char *d, size_t n)
{
	char hdr[8];

	snprintf(hdr, sizeof(hdr), "%06d:", i);
	return n == dw_len(i) && !memcmp(d, hdr, 7) && !memcmp(d + 7, dw_fill + i % 31, n - 7);
}

static void dw_init(void)
{
	for (size_t i = 0; i < sizeof(dw_fill); i++)
		dw_fill[i] = (char)('a' + (i * 5 + i / 251) % 26);
}

/* 2000 mixed-size messages from outside callbacks, the loop run now and
 * then: direct writes, partial writes lws buffers, and queued writes
 * (while choked) interleave; the receiver checks every one in order. */
static void test_direct_write_order(void **state)
{
	(void)state;
	ws_opts o = { .max_queue = 64u << 20, .max_message = 1u << 20 };
	wst *t = wst_new(&o);
	const int n = 2000;
	char *m = malloc(DW_BIG + 64);
	size_t maxq = 0;
	int direct = 0;

	dw_init();
	t->srv_echo = false;
	assert_int_equal(wst_connect(t, 0, "/dw", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened && x->nsrv == 1, 3000));
	/* idle, open, plain: the message leaves at once, nothing stays queued */
	assert_int_equal(ws_send_text(t->cli[0].c, "000000:x", 8), 0);
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	assert_true(RUN_UNTIL(t, x->srv[0].ntext == 1, 3000));
	t->srv[0].ntext = 0;
	t->srv_check = dw_check;
	for (int i = 0; i < n; i++) {
		size_t l = dw_make(i, m), before = ws_queued(t->cli[0].c);

		assert_int_equal(ws_send_text(t->cli[0].c, m, l), 0);
		if (ws_queued(t->cli[0].c) == before)
			direct++;
		if (ws_queued(t->cli[0].c) > maxq)
			maxq = ws_queued(t->cli[0].c);
		if (i % 7 == 6) /* let it drain now and then: direct again */
			uv_run(&t->loop, UV_RUN_NOWAIT);
	}
	assert_true(RUN_UNTIL(t, x->srv[0].ntext == n, 20000));
	assert_int_equal(t->srv_bad, 0);
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	assert_true(direct > 0); /* some went out directly */
	assert_true(maxq > 0);   /* and some had to wait (choked or behind others) */
	/* the server side (unmasked frames) too */
	t->srv_check = NULL;
	for (int i = 0; i < n; i++) {
		size_t l = dw_make(i, m);

		assert_int_equal(ws_send_text(t->srv[0].c, m, l), 0);
		if (i % 50 == 49)
			uv_run(&t->loop, UV_RUN_NOWAIT);
	}
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == n, 20000));
	assert_true(dw_check(n - 1, t->cli[0].last, t->cli[0].last_len));
	free(m);
	wst_free(t);
}

/* A reader that does not read: the socket fills (a small receive buffer),
 * ws_send_text queues, and everything drains in order once it reads. */
static void test_direct_write_slow_reader(void **state)
{
	(void)state;
	ws_opts o = { .max_queue = 64u << 20 };
	wst *t = wst_new(&o);
	const int n = 600;
	int rcv = 4096, fd;
	char *m = malloc(DW_BIG + 64), *in;
	size_t cap = 64u << 20, got = 0, off, hl;
	int seen = 0;

	dw_init();
	in = malloc(cap);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)t->port) };

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	wst_raw_send(fd, wst_raw_upgrade, strlen(wst_raw_upgrade));
	assert_true(RUN_UNTIL(t, x->nsrv == 1, 3000));
	/* read the 101 response only */
	while (!(got >= 4 && memmem(in, got, "\r\n\r\n", 4))) {
		ssize_t k = recv(fd, in + got, 1, MSG_DONTWAIT);

		if (k > 0)
			got += (size_t)k;
		else
			uv_run(&t->loop, UV_RUN_NOWAIT);
	}
	hl = got;
	assert_true(RUN_UNTIL(t, true, 20));
	/* the reader sleeps: sending goes on until the socket is choked */
	for (int i = 0; i < n; i++) {
		size_t l = dw_make(i, m);

		assert_int_equal(ws_send_text(t->srv[0].c, m, l), 0);
		uv_run(&t->loop, UV_RUN_NOWAIT);
	}
	assert_true(ws_queued(t->srv[0].c) > 0); /* choked: the queue holds the rest */
	/* now read, parsing unmasked server frames, checking each in order */
	off = hl;
	for (uint64_t end = uv_hrtime() + 20000000000ull; seen < n && uv_hrtime() < end;) {
		ssize_t k = recv(fd, in + got, cap - got, MSG_DONTWAIT);

		if (k > 0)
			got += (size_t)k;
		else
			uv_run(&t->loop, UV_RUN_NOWAIT);
		for (;;) {
			const unsigned char *p = (const unsigned char *)in + off;
			size_t avail = got - off, h = 2, pl;

			if (avail < 2)
				break;
			assert_int_equal(p[0], 0x81); /* FIN + text, never fragmented */
			pl = p[1] & 0x7f;
			if (pl == 126) {
				if (avail < 4)
					break;
				pl = (size_t)p[2] << 8 | p[3];
				h = 4;
			} else if (pl == 127) {
				if (avail < 10)
					break;
				pl = 0;
				for (int b = 0; b < 8; b++)
					pl = pl << 8 | p[2 + b];
				h = 10;
			}
			if (avail < h + pl)
				break;
			assert_true(dw_check(seen, (const char *)p + h, pl));
			seen++;
			off += h + pl;
		}
	}
	assert_int_equal(seen, n);
	assert_int_equal(ws_queued(t->srv[0].c), 0);
	/* and once drained, sending is direct again */
	assert_int_equal(ws_send_text(t->srv[0].c, "000000:x", 8), 0);
	assert_int_equal(ws_queued(t->srv[0].c), 0);
	close(fd);
	assert_true(RUN_UNTIL(t, x->srv[0].closed, 3000));
	free(in);
	free(m);
	wst_free(t);
}

/* ws_close right after a direct write (small, and big enough that lws
 * still holds most of it): the peer gets the data, then the close. */
static void test_direct_write_then_close(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	size_t big = 300 * 1024;
	char *m = malloc(big);

	for (size_t i = 0; i < big; i++)
		m[i] = (char)('a' + (i * 3 + i / 777) % 26);
	t->srv_echo = false;
	assert_int_equal(wst_connect(t, 0, "/", NULL), 0);
	assert_int_equal(wst_connect(t, 1, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened && x->cli[1].opened && x->nsrv == 2, 3000));
	assert_int_equal(ws_send_text(t->cli[0].c, "final words", 11), 0);
	assert_int_equal(ws_queued(t->cli[0].c), 0); /* written directly */
	ws_close(t->cli[0].c, 4020, "done");
	assert_int_equal(ws_send_text(t->cli[1].c, m, big), 0);
	assert_int_equal(ws_queued(t->cli[1].c), 0); /* lws holds the rest */
	ws_close(t->cli[1].c, 4021, "done big");
	assert_true(RUN_UNTIL(t, x->srv[0].closed && x->srv[1].closed &&
				 x->cli[0].closed && x->cli[1].closed, 5000));
	/* servers were accepted in connect order or not: match by close code */
	for (int i = 0; i < 2; i++) {
		wst_side *s = &t->srv[i];

		assert_int_equal(s->ntext, 1);
		if (s->code == 4020) {
			assert_string_equal(s->last, "final words");
		} else {
			assert_int_equal(s->code, 4021);
			assert_int_equal(s->last_len, big);
			assert_memory_equal(s->last, m, big);
		}
	}
	assert_int_equal(t->cli[0].code, 4020);
	assert_int_equal(t->cli[1].code, 4021);
	free(m);
	wst_free(t);
}

/* ws_cork holds messages back (nothing on the wire, nested too) until the
 * matching ws_uncork writes them all at once, in order. */
static void test_cork(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	wst_rawbuf r = { .fd = wst_raw_connect(t->port) };
	size_t hl;
	const char *p;

	t->srv_echo = false;
	wst_raw_send(r.fd, wst_raw_upgrade, strlen(wst_raw_upgrade));
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	assert_int_equal(t->nsrv, 1);
	hl = (size_t)(strstr(r.b, "\r\n\r\n") + 4 - r.b);
	ws_cork(t->srv[0].c);
	ws_cork(t->srv[0].c);
	assert_int_equal(ws_send_text(t->srv[0].c, "media", 5), 0);
	ws_uncork(t->srv[0].c); /* still corked once */
	assert_int_equal(ws_send_text(t->srv[0].c, "mark", 4), 0);
	assert_int_equal(ws_queued(t->srv[0].c), 9);
	assert_true(!RUN_UNTIL(t, (wst_raw_pump(&r), r.n > hl), 100)); /* nothing sent */
	ws_uncork(t->srv[0].c);
	assert_int_equal(ws_queued(t->srv[0].c), 0); /* written at once */
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), r.n >= hl + 13), 3000));
	p = r.b + hl;
	assert_memory_equal(p, "\x81\x05media\x81\x04mark", 13);
	ws_uncork(t->srv[0].c); /* unbalanced: ignored */
	assert_int_equal(ws_send_text(t->srv[0].c, "x", 1), 0);
	assert_int_equal(ws_queued(t->srv[0].c), 0);
	close(r.fd);
	assert_true(RUN_UNTIL(t, x->srv[0].closed, 3000));
	wst_free(t);
}

/* A direct write on a socket the peer reset fails inside ws_send_text:
 * the connection still ends through close_h (1006), from the loop. */
static void test_direct_write_fails(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	wst_rawbuf r = { .fd = wst_raw_connect(t->port) };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	t->srv_echo = false;
	wst_raw_send(r.fd, wst_raw_upgrade, strlen(wst_raw_upgrade));
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	assert_int_equal(t->nsrv, 1);
	setsockopt(r.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(r.fd); /* RST */
	usleep(20000);
	/* no loop turn yet: lws has not seen the reset */
	assert_int_equal(ws_send_text(t->srv[0].c, "into the void", 13), 0);
	assert_int_equal(t->srv[0].closed, 0); /* never synchronously */
	assert_true(RUN_UNTIL(t, x->srv[0].closed == 1, 3000));
	assert_int_equal(t->srv[0].code, 1006);
	assert_string_equal(t->srv[0].reason, "write failed");
	assert_true(!RUN_UNTIL(t, x->srv[0].closed > 1, 100));
	wst_free(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_big_message),
		cmocka_unit_test(test_txq),
		cmocka_unit_test(test_cork),
		cmocka_unit_test(test_queue_order),
		cmocka_unit_test(test_enobufs),
		cmocka_unit_test(test_direct_write_order),
		cmocka_unit_test(test_direct_write_slow_reader),
		cmocka_unit_test(test_direct_write_then_close),
		cmocka_unit_test(test_direct_write_fails),
	};

	log_init("test_ws_send");
	if (argc > 1) /* run one test by name pattern */
		cmocka_set_test_filter(argv[1]);
	if (getenv("WS_DEBUG"))
		log_set_level(LOGL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
