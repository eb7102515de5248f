/* test_sdp: SDP parser, negotiation and builders against real-world offers
 * (SIPp, baresip, Grandstream HT841, Linphone, OVH-like hold) and garbage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

/* sipp -sn uac default body, as sent on the wire. */
static const char SIPP_OFFER[] =
	"v=0\r\n"
	"o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n"
	"m=audio 6000 RTP/AVP 0\r\n"
	"a=rtpmap:0 PCMU/8000\r\n";

/* baresip 1.x / 2.x with opus, G722, G711, telephone-event. */
static const char BARESIP_OFFER[] =
	"v=0\r\n"
	"o=- 1957281934 2031929166 IN IP4 192.168.1.10\r\n"
	"s=-\r\n"
	"c=IN IP4 192.168.1.10\r\n"
	"t=0 0\r\n"
	"a=tool:baresip 1.0.0\r\n"
	"m=audio 10234 RTP/AVP 96 9 0 8 101\r\n"
	"b=AS:77\r\n"
	"a=rtpmap:96 opus/48000/2\r\n"
	"a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
	"a=rtpmap:9 G722/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=sendrecv\r\n"
	"a=label:1\r\n"
	"a=ssrc:1443912245 cname:8f1a7e0f-0c2f-4f6a\r\n"
	"a=rtcp-rsize\r\n"
	"a=ptime:20\r\n";

/* Grandstream HT841 FXO gateway: PCMA first, G.729, bare \n line ends. */
static const char HT841_OFFER[] =
	"v=0\n"
	"o=HT841 8000 8000 IN IP4 192.168.1.50\n"
	"s=SIP Call\n"
	"c=IN IP4 192.168.1.50\n"
	"t=0 0\n"
	"m=audio 5004 RTP/AVP 8 18 101\n"
	"a=sendrecv\n"
	"a=rtpmap:8 PCMA/8000\n"
	"a=ptime:20\n"
	"a=rtpmap:18 G729/8000\n"
	"a=fmtp:18 annexb=no\n"
	"a=rtpmap:101 telephone-event/8000\n"
	"a=fmtp:101 0-15\n";

/* Linphone: telephone-event at three rates, plus a video stream. */
static const char LINPHONE_OFFER[] =
	"v=0\r\n"
	"o=bob 3383 1234 IN IP4 192.168.0.20\r\n"
	"s=Talk\r\n"
	"c=IN IP4 192.168.0.20\r\n"
	"t=0 0\r\n"
	"a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n"
	"m=audio 7078 RTP/AVP 96 97 98 0 8 101 99 100\r\n"
	"a=rtpmap:96 opus/48000/2\r\n"
	"a=fmtp:96 useinbandfec=1\r\n"
	"a=rtpmap:97 speex/16000\r\n"
	"a=fmtp:97 vbr=on\r\n"
	"a=rtpmap:98 speex/8000\r\n"
	"a=fmtp:98 vbr=on\r\n"
	"a=rtpmap:101 telephone-event/48000\r\n"
	"a=rtpmap:99 telephone-event/16000\r\n"
	"a=rtpmap:100 telephone-event/8000\r\n"
	"a=rtcp-fb:* trr-int 1000\r\n"
	"m=video 9078 RTP/AVP 96\r\n"
	"a=rtpmap:96 VP8/90000\r\n"
	"a=recvonly\r\n";

/* A trunk putting us on hold the RFC 2543 way plus session-level sendonly. */
static const char HOLD_OFFER[] =
	"v=0\r\n"
	"o=- 1 2 IN IP4 10.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"t=0 0\r\n"
	"a=sendonly\r\n"
	"m=audio 40000 RTP/AVP 8 0 101\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-16\r\n";

static void parse_ok(const char *txt, sdp_session *s)
{
	char err[128] = "";
	int rc = sdp_parse(s, txt, strlen(txt), err, sizeof(err));
	if (rc != 0)
		fail_msg("sdp_parse: %d %s", rc, err);
}

static void test_sipp(void **state)
{
	(void)state;
	sdp_session s;
	sdp_choice c;
	char buf[1024];
	sdp_local l = { .addr = "203.0.113.7", .port = 10002, .sess_id = 42, .sess_ver = 1 };

	parse_ok(SIPP_OFFER, &s);
	assert_int_equal(s.nmedia, 1);
	assert_int_equal(s.audio, 0);
	assert_string_equal(s.media[0].addr, "127.0.0.1");
	assert_int_equal(s.media[0].port, 6000);
	assert_int_equal(s.media[0].nfmts, 1);
	assert_string_equal(s.media[0].fmts[0].enc, "PCMU");
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), 0);
	assert_int_equal(c.pt, 0);
	assert_int_equal(c.dtmf_pt, -1);
	assert_int_equal(c.dir, SDP_SENDRECV);
	assert_false(c.hold);
	assert_string_equal(c.raddr, "127.0.0.1");
	assert_int_equal(c.rport, 6000);
	int n = sdp_build_answer(buf, sizeof(buf), &s, &c, &l);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_string_equal(buf,
			    "v=0\r\no=voixia 42 1 IN IP4 203.0.113.7\r\ns=VoixIA\r\n"
			    "c=IN IP4 203.0.113.7\r\nt=0 0\r\n"
			    "m=audio 10002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
			    "a=ptime:20\r\na=sendrecv\r\n");
	/* The answer parses back to what we chose. */
	sdp_session back;
	parse_ok(buf, &back);
	assert_int_equal(back.media[0].port, 10002);
	assert_string_equal(back.media[0].addr, "203.0.113.7");
}

static void test_baresip(void **state)
{
	(void)state;
	sdp_session s;
	sdp_choice c;
	char buf[1024];
	sdp_local l = { .addr = "127.0.0.1", .port = 12000, .sess_id = 1, .sess_ver = 1 };

	parse_ok(BARESIP_OFFER, &s);
	assert_int_equal(s.media[0].nfmts, 5);
	assert_int_equal(s.media[0].ptime, 20);
	assert_string_equal(s.media[0].fmts[0].enc, "opus");
	assert_int_equal(s.media[0].fmts[0].channels, 2);
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), 0);
	assert_int_equal(c.pt, 0); /* PCMU preferred though listed after G722 */
	assert_int_equal(c.dtmf_pt, 101);
	assert_string_equal(c.dtmf_fmtp, "0-15");
	assert_true(sdp_build_answer(buf, sizeof(buf), &s, &c, &l) > 0);
	assert_non_null(strstr(buf, "m=audio 12000 RTP/AVP 0 101\r\n"));
	assert_non_null(strstr(buf, "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"));
	assert_null(strstr(buf, "opus"));
}

static void test_ht841(void **state)
{
	(void)state;
	sdp_session s;
	sdp_choice c;
	char buf[1024];
	sdp_local l = { .addr = "192.168.1.2", .port = 10000, .sess_id = 7, .sess_ver = 3 };

	parse_ok(HT841_OFFER, &s);
	assert_string_equal(s.media[0].addr, "192.168.1.50");
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), 0);
	assert_int_equal(c.pt, 8); /* only PCMA among ours */
	assert_int_equal(c.dtmf_pt, 101);
	assert_int_equal(c.rport, 5004);
	assert_true(sdp_build_answer(buf, sizeof(buf), &s, &c, &l) > 0);
	assert_non_null(strstr(buf, "m=audio 10000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"));
	assert_non_null(strstr(buf, "o=voixia 7 3 IN IP4 192.168.1.2\r\n"));
}

static void test_linphone(void **state)
{
	(void)state;
	sdp_session s;
	sdp_choice c;
	char buf[2048];
	sdp_local l = { .addr = "2001:db8::5", .port = 10010, .sess_id = 1, .sess_ver = 1 };

	parse_ok(LINPHONE_OFFER, &s);
	assert_int_equal(s.nmedia, 2);
	assert_int_equal(s.media[1].dir, SDP_RECVONLY);
	assert_int_equal(s.media[0].dir, SDP_SENDRECV);
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), 0);
	assert_int_equal(c.pt, 0);
	assert_int_equal(c.dtmf_pt, 100); /* the 8000 Hz one, not 48k/16k */
	assert_string_equal(c.dtmf_fmtp, "0-15");
	assert_true(sdp_build_answer(buf, sizeof(buf), &s, &c, &l) > 0);
	assert_non_null(strstr(buf, "c=IN IP6 2001:db8::5\r\n"));
	assert_non_null(strstr(buf, "m=audio 10010 RTP/AVP 0 100\r\n"));
	assert_non_null(strstr(buf, "m=video 0 RTP/AVP 96\r\n")); /* refused, same count */
	sdp_session back;
	parse_ok(buf, &back);
	assert_int_equal(back.nmedia, 2);
}

static void test_hold(void **state)
{
	(void)state;
	sdp_session s;
	sdp_choice c;
	char buf[1024];
	sdp_local l = { .addr = "127.0.0.1", .port = 10000, .sess_id = 1, .sess_ver = 2 };

	parse_ok(HOLD_OFFER, &s);
	assert_int_equal(s.media[0].dir, SDP_SENDONLY); /* from session level */
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), 0);
	assert_int_equal(c.pt, 0);
	assert_true(c.hold);
	assert_string_equal(c.raddr, "");
	assert_int_equal(c.dir, SDP_RECVONLY);
	assert_string_equal(c.dtmf_fmtp, "0-16");
	assert_true(sdp_build_answer(buf, sizeof(buf), &s, &c, &l) > 0);
	assert_non_null(strstr(buf, "a=recvonly\r\n"));

	static const char inactive[] = "v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\n";
	parse_ok(inactive, &s);
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), 0);
	assert_true(c.hold);
	assert_int_equal(c.dir, SDP_INACTIVE);
	static const char recvonly[] = "v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 8\r\na=recvonly\r\n";
	parse_ok(recvonly, &s);
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), 0);
	assert_false(c.hold);
	assert_int_equal(c.dir, SDP_SENDONLY);
	assert_int_equal(c.pt, 8);
}

static void test_no_common_codec(void **state)
{
	(void)state;
	sdp_session s;
	sdp_choice c;
	char err[128];
	static const char g729[] = "v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 18 101\r\n"
				   "a=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
	static const char srtp[] = "v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/SAVP 0\r\n";
	static const char video[] = "v=0\r\nc=IN IP4 10.1.1.1\r\nm=video 4000 RTP/AVP 96\r\n";
	/* PT 0 remapped to something else is not PCMU. */
	static const char liar[] = "v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 opus/48000/2\r\n";
	static const char wb[] = "v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/16000\r\n";

	parse_ok(g729, &s);
	assert_int_equal(sdp_negotiate(&s, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "PCMU"));
	parse_ok(srtp, &s);
	assert_int_equal(sdp_negotiate(&s, &c, err, sizeof(err)), -ENOENT);
	parse_ok(video, &s);
	assert_int_equal(sdp_negotiate(&s, &c, err, sizeof(err)), -EPROTO);
	parse_ok(liar, &s);
	assert_int_equal(sdp_negotiate(&s, &c, err, sizeof(err)), -ENOENT);
	parse_ok(wb, &s);
	assert_int_equal(sdp_negotiate(&s, &c, err, sizeof(err)), -ENOENT);
	assert_int_equal(sdp_negotiate(NULL, &c, err, sizeof(err)), -EPROTO);
}

static void expect_bad(const char *txt, size_t len, int want)
{
	sdp_session s;
	char err[128] = "";
	int rc = sdp_parse(&s, txt, len, err, sizeof(err));
	if (rc != want)
		fail_msg("want %d got %d (%s) for %.40s", want, rc, err, txt);
	assert_true(err[0] != '\0');
}

static void test_garbage(void **state)
{
	(void)state;
	static const char *bad[] = {
		"",
		"hello world",
		"v=1\r\n",
		"x\r\nv=0\r\n",
		"v=0\r\nc=IN IP4 999.1.1.1\r\n",
		"v=0\r\nc=IN IP4\r\n",
		"v=0\r\nc=IN IP5 1.2.3.4\r\n",
		"v=0\r\nc=ATM NSAP 1.2.3.4\r\n",
		"v=0\r\nc=IN IP4 1.2.3.4 extra\r\n",
		"v=0\r\nm=audio 70000 RTP/AVP 0\r\n",
		"v=0\r\nm=audio -1 RTP/AVP 0\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP\r\n",
		"v=0\r\nm=audio\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:300 PCMU/8000\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/abc\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:x\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP 0\r\nA=foo\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP 0\r\n=foo\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP 0\ra=sendonly\r\n",
		"v=0\r\nm=audio 4000 RT\x01P/AVP 0\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP 0 \x7f\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i], strlen(bad[i]), -EBADMSG);

	/* Embedded NUL. */
	static const char nul[] = "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PC\0MU/8000\r\n";
	expect_bad(nul, sizeof(nul) - 1, -EBADMSG);

	/* Too long overall and per line. */
	char *big = malloc(SDP_MAX_LEN + 10);
	assert_non_null(big);
	memset(big, 'a', SDP_MAX_LEN + 10);
	memcpy(big, "v=0\r\na=", 7);
	expect_bad(big, SDP_MAX_LEN + 10, -E2BIG);
	expect_bad(big, SDP_MAX_LINE + 100, -EBADMSG);
	free(big);

	/* Too many m= lines. */
	char many[2048] = "v=0\r\n";
	for (int i = 0; i < SDP_MAX_MEDIA + 1; i++)
		strcat(many, "m=audio 4000 RTP/AVP 0\r\n");
	expect_bad(many, strlen(many), -EBADMSG);

	/* Not NUL-terminated: the parser must stop at len. */
	char exact[sizeof(SIPP_OFFER) - 1];
	memcpy(exact, SIPP_OFFER, sizeof(exact));
	sdp_session s;
	assert_int_equal(sdp_parse(&s, exact, sizeof(exact), NULL, 0), 0);
	assert_int_equal(sdp_parse(NULL, exact, sizeof(exact), NULL, 0), -EINVAL);
}

static void test_many_formats(void **state)
{
	(void)state;
	/* More formats than we keep: PCMU is listed last and must be lost
	 * gracefully (-ENOENT), not overflow anything. */
	char txt[1024] = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP";
	for (int i = 0; i < SDP_MAX_FMT + 5; i++)
		sprintf(txt + strlen(txt), " %d", 96 + i % 32);
	strcat(txt, " 0\r\n");
	sdp_session s;
	sdp_choice c;
	parse_ok(txt, &s);
	assert_int_equal(s.media[0].nfmts, SDP_MAX_FMT);
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), -ENOENT);
}

static void test_offer_and_small_buffers(void **state)
{
	(void)state;
	char buf[1024];
	sdp_local l = { .addr = "127.0.0.1", .port = 10004, .sess_id = 9, .sess_ver = 1 };
	int n = sdp_build_offer(buf, sizeof(buf), &l);
	assert_true(n > 0);
	sdp_session s;
	sdp_choice c;
	parse_ok(buf, &s);
	assert_int_equal(s.media[0].nfmts, 3);
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), 0);
	assert_int_equal(c.pt, 0);
	assert_int_equal(c.dtmf_pt, 101);
	assert_string_equal(c.dtmf_fmtp, "0-16");

	/* Every truncation point gives -ENOSPC, never an overflow. */
	for (int cap = 1; cap < n + 1; cap++) {
		char *small = malloc((size_t)cap);
		assert_int_equal(sdp_build_offer(small, (size_t)cap, &l), -ENOSPC);
		assert_int_equal(sdp_build_answer(small, (size_t)cap, &s, &c, &l) == -ENOSPC ||
				 sdp_build_answer(small, (size_t)cap, &s, &c, &l) > 0, 1);
		free(small);
	}
	sdp_local bad = { .addr = "1.2.3.4\r\nx=y", .port = 1 };
	assert_int_equal(sdp_build_offer(buf, sizeof(buf), &bad), -EINVAL);
	bad.addr = "1.2.3.4";
	bad.port = 0;
	assert_int_equal(sdp_build_offer(buf, sizeof(buf), &bad), -EINVAL);
}

/* Deterministic mutation of real offers: the parser must never crash
 * (ASan/UBSan watch), and whatever parses must negotiate/build safely. */
static void test_mutations(void **state)
{
	(void)state;
	static const char *seeds[] = { SIPP_OFFER, BARESIP_OFFER, HT841_OFFER, LINPHONE_OFFER, HOLD_OFFER };
	uint32_t x = 2463534242u;
	char buf[4096], out[4096];
	int parsed = 0;

	for (int iter = 0; iter < 20000; iter++) {
		const char *seed = seeds[iter % 5];
		size_t len = strlen(seed);
		memcpy(buf, seed, len);
		int nmut = 1 + iter % 4;
		for (int k = 0; k < nmut; k++) {
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			size_t pos = x % len;
			switch ((x >> 8) % 4) {
			case 0: buf[pos] = (char)(x >> 16); break;
			case 1: len = pos; break; /* truncate */
			case 2: buf[pos] = " \r\n:/=0"[(x >> 16) % 7]; break;
			default: buf[pos] = (char)('0' + (x >> 16) % 10); break;
			}
			if (!len)
				break;
		}
		sdp_session s;
		sdp_choice c;
		if (sdp_parse(&s, buf, len, NULL, 0) != 0)
			continue;
		parsed++;
		if (sdp_negotiate(&s, &c, NULL, 0) == 0) {
			sdp_local l = { .addr = "127.0.0.1", .port = 10000, .sess_id = 1, .sess_ver = 1 };
			assert_true(sdp_build_answer(out, sizeof(out), &s, &c, &l) > 0);
			sdp_session back;
			assert_int_equal(sdp_parse(&back, out, strlen(out), NULL, 0), 0);
		}
	}
	assert_true(parsed > 1000);
}

/* SIP-I style multipart/mixed body: SDP then ISUP (binary). */
static void test_body_find(void **state)
{
	(void)state;
	static const char mp[] =
		"--unique-boundary-1\r\n"
		"Content-Type: application/sdp\r\n"
		"\r\n"
		"v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 8\r\n"
		"\r\n--unique-boundary-1\r\n"
		"Content-Type: application/ISUP;version=itu-t92+\r\n"
		"Content-Disposition: signal;handling=optional\r\n"
		"\r\n"
		"\x01\x00\x49\x00\x00\x03\x02\x00\x07\x04\x10\x00\x33\x63\x21\x43\x00\x00\x03"
		"\r\n--unique-boundary-1--\r\n";
	const char *sdp;
	size_t n;
	sdp_session s;
	sdp_choice c;

	assert_int_equal(sdp_body_find("multipart/mixed", "unique-boundary-1", mp, sizeof(mp) - 1, &sdp, &n), 0);
	assert_int_equal(n, strlen("v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 8\r\n"));
	assert_int_equal(sdp_parse(&s, sdp, n, NULL, 0), 0);
	assert_int_equal(sdp_negotiate(&s, &c, NULL, 0), 0);
	assert_int_equal(c.pt, 8);
	assert_int_equal(sdp_body_find("multipart/mixed", "\"unique-boundary-1\"", mp, sizeof(mp) - 1, &sdp, &n), 0);
	/* Plain SDP and a missing Content-Type: the whole body. */
	assert_int_equal(sdp_body_find("application/sdp", NULL, SIPP_OFFER, strlen(SIPP_OFFER), &sdp, &n), 0);
	assert_ptr_equal(sdp, SIPP_OFFER);
	assert_int_equal(sdp_body_find(NULL, NULL, SIPP_OFFER, strlen(SIPP_OFFER), &sdp, &n), 0);
	/* No SDP part, wrong boundary, other types, broken parts: never a crash. */
	assert_int_equal(sdp_body_find("text/plain", NULL, "hi", 2, &sdp, &n), -ENOENT);
	assert_int_equal(sdp_body_find("multipart/mixed", "other", mp, sizeof(mp) - 1, &sdp, &n), -ENOENT);
	assert_int_equal(sdp_body_find("multipart/mixed", NULL, mp, sizeof(mp) - 1, &sdp, &n), -ENOENT);
	assert_int_equal(sdp_body_find("multipart/mixed", "", mp, sizeof(mp) - 1, &sdp, &n), -EBADMSG);
	assert_int_equal(sdp_body_find("application/sdp", NULL, "", 0, &sdp, &n), -ENOENT);
	for (size_t cut = 0; cut < sizeof(mp) - 1; cut++) {
		char *b = malloc(cut ? cut : 1);
		memcpy(b, mp, cut);
		int rc = sdp_body_find("multipart/mixed", "unique-boundary-1", b, cut, &sdp, &n);
		assert_true(rc == 0 || rc == -ENOENT || rc == -EBADMSG);
		if (rc == 0)
			assert_true(sdp >= b && sdp + n <= b + cut);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sipp),
		cmocka_unit_test(test_baresip),
		cmocka_unit_test(test_ht841),
		cmocka_unit_test(test_linphone),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_no_common_codec),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_many_formats),
		cmocka_unit_test(test_offer_and_small_buffers),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_body_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
