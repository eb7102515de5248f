/* strm: one call's Twilio Media Stream client (see strm.h). */
#include "strm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "log.h"

/* Decoded application audio of one message; sized to the ws max message. */
#define STRM_RX_AUDIO (384 * 1024)
/* One inbound media event (20 ms, or a bit more when re-chunked). */
#define STRM_TX_MEDIA 2048

struct strm {
	ws_conn *ws;
	strm_handlers h;
	void *arg;
	bool open, stopping;
	uint64_t seq;        /* last sequenceNumber sent */
	uint64_t chunk;      /* last chunk sent */
	char stream_sid[TW_SID_MAX], account_sid[TW_SID_MAX], call_sid[TW_SID_MAX];
	char log_id[TW_SID_MAX];
	tw_start *start;     /* kept until sent */
	strm_stats st;
};

/* The media thread is the only user; thread-local keeps tests with several
 * loops honest. No allocation per message. */
static _Thread_local uint8_t rx_audio[STRM_RX_AUDIO];
static _Thread_local char tx_buf[TW_MEDIA_FMT_CAP(STRM_TX_MEDIA)];

static int send_buf(strm *s, const char *buf, int len)
{
	int rc;
	if (len < 0)
		return len;
	rc = ws_send_text(s->ws, buf, (size_t)len);
	if (rc < 0) {
		s->st.tx_fail++;
		/* The sequence number was consumed: keep counting so the peer sees
		 * the gap rather than a silent renumbering. */
		if (s->st.tx_fail == 1 || !(s->st.tx_fail & 1023))
			log_warn(s->log_id, "stream send failed (%s), %llu so far", strerror(-rc),
				 (unsigned long long)s->st.tx_fail);
		return rc;
	}
	s->st.tx_msgs++;
	return 0;
}

static void on_open(ws_conn *c, void *arg)
{
	strm *s = arg;
	/* start carries up to 24 customParameters of 64+256 bytes: once per call */
	size_t cap = 16384 + TW_MAX_PARAMS * 2 * (TW_KEY_MAX + TW_VAL_MAX);
	char *buf = malloc(cap);
	int len;
	(void)c;
	if (s->stopping) { /* ended while connecting: the close is on its way */
		free(buf);
		return;
	}
	if (!buf)
		goto fail;
	len = tw_fmt_connected(buf, cap);
	if (send_buf(s, buf, len) < 0)
		goto fail;
	len = tw_fmt_start(buf, cap, ++s->seq, s->start);
	if (send_buf(s, buf, len) < 0)
		goto fail;
	free(buf);
	free(s->start);
	s->start = NULL;
	s->open = true;
	log_info(s->log_id, "stream open to %s, streamSid %s", ws_peer(s->ws), s->stream_sid);
	if (s->h.open_h)
		s->h.open_h(s->arg);
	return;
fail:
	free(buf);
	log_err(s->log_id, "cannot send connected/start");
	strm_stop(s);
}

static void bad(strm *s, const char *what, const char *err)
{
	s->st.rx_bad++;
	/* Rate-limited: a hostile peer must not flood the log. */
	if (s->st.rx_bad <= 10 || !(s->st.rx_bad & 1023))
		log_warn(s->log_id, "dropped %s from the application: %s (%llu dropped)", what, err,
			 (unsigned long long)s->st.rx_bad);
}

static void on_text(ws_conn *c, const char *data, size_t len, void *arg)
{
	strm *s = arg;
	tw_event ev;
	char err[160] = "";
	int rc;
	(void)c;

	if (s->stopping)
		return;
	rc = tw_parse(&ev, data, len, TW_FROM_APP, rx_audio, sizeof(rx_audio), err, sizeof(err));
	if (rc < 0) {
		bad(s, "message", err);
		return;
	}
	if (ev.stream_sid[0] && strcmp(ev.stream_sid, s->stream_sid)) {
		bad(s, tw_type_name(ev.type), "foreign streamSid");
		return;
	}
	switch (ev.type) {
	case TW_MEDIA:
		s->st.rx_media++;
		s->st.rx_bytes += ev.u.media.len;
		if (s->h.media_h && ev.u.media.len)
			s->h.media_h(ev.u.media.payload, ev.u.media.len, s->arg);
		break;
	case TW_MARK:
		s->st.rx_marks++;
		if (s->h.mark_h)
			s->h.mark_h(ev.u.mark.name, s->arg);
		break;
	case TW_CLEAR:
		s->st.rx_clears++;
		if (s->h.clear_h)
			s->h.clear_h(s->arg);
		break;
	default:
		bad(s, tw_type_name(ev.type), "not an application event");
	}
}

static void on_binary(ws_conn *c, const uint8_t *data, size_t len, void *arg)
{
	(void)c;
	(void)data;
	(void)len;
	bad(arg, "binary frame", "Twilio streams are text only");
}

static void on_close(ws_conn *c, int code, const char *reason, void *arg)
{
	strm *s = arg;
	(void)c;
	if (s->open)
		log_info(s->log_id, "stream closed (%d %s): %llu sent, %llu media in, %llu dropped",
			 code, reason ? reason : "", (unsigned long long)s->st.tx_msgs,
			 (unsigned long long)s->st.rx_media, (unsigned long long)s->st.rx_bad);
	else if (s->stopping)
		log_info(s->log_id, "stream given up while connecting (%d %s)", code, reason ? reason : "");
	else
		log_warn(s->log_id, "stream could not open (%d %s)", code, reason ? reason : "");
	if (s->h.close_h)
		s->h.close_h(code, reason, s->open, s->arg);
	free(s->start);
	free(s);
}

static const ws_handlers strm_ws = {
	.open_h = on_open, .text_h = on_text, .binary_h = on_binary, .close_h = on_close,
};

int strm_open(strm **out, ws_ctx *ctx, const strm_cfg *cfg, const strm_handlers *h, void *arg)
{
	char auth[512];
	const char *headers[2] = { NULL, NULL };
	strm *s;
	int rc;

	if (!cfg->url || !cfg->start)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->start = malloc(sizeof(*s->start));
	if (!s->start) {
		free(s);
		return -ENOMEM;
	}
	*s->start = *cfg->start;
	s->h = *h;
	s->arg = arg;
	snprintf(s->stream_sid, sizeof(s->stream_sid), "%s", cfg->start->stream_sid);
	snprintf(s->account_sid, sizeof(s->account_sid), "%s", cfg->start->account_sid);
	snprintf(s->call_sid, sizeof(s->call_sid), "%s", cfg->start->call_sid);
	snprintf(s->log_id, sizeof(s->log_id), "%s", cfg->log_id ? cfg->log_id : s->call_sid);
	if (cfg->token && *cfg->token) {
		if ((size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->token) >= sizeof(auth)) {
			rc = -EINVAL;
			goto fail;
		}
		headers[0] = auth;
	}
	rc = ws_connect(ctx, cfg->url, headers, &strm_ws, s, &s->ws);
	explicit_bzero(auth, sizeof(auth));
	if (rc < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	free(s->start);
	free(s);
	return rc;
}

int strm_media(strm *s, const uint8_t *ulaw, size_t n, uint64_t ts_ms)
{
	if (!s->open || s->stopping)
		return -ENOTCONN;
	if (n > STRM_TX_MEDIA)
		return -EINVAL;
	int len = tw_fmt_media(tx_buf, sizeof(tx_buf), ++s->seq, s->stream_sid, TW_TRACK_INBOUND,
			       ++s->chunk, ts_ms, ulaw, n);
	s->st.tx_media++;
	return send_buf(s, tx_buf, len);
}

int strm_dtmf(strm *s, char digit)
{
	char buf[512];
	if (!s->open || s->stopping)
		return -ENOTCONN;
	log_debug(s->log_id, "dtmf %c", digit); /* digits may be card numbers: debug only */
	return send_buf(s, buf, tw_fmt_dtmf(buf, sizeof(buf), ++s->seq, s->stream_sid, digit));
}

int strm_mark(strm *s, const char *name)
{
	char buf[TW_NAME_MAX * 2 + 256];
	if (!s->open || s->stopping)
		return -ENOTCONN;
	return send_buf(s, buf, tw_fmt_mark(buf, sizeof(buf), ++s->seq, s->stream_sid, name));
}

void strm_stop(strm *s)
{
	char buf[512];
	if (!s || s->stopping)
		return;
	s->stopping = true;
	if (s->open)
		send_buf(s, buf, tw_fmt_stop(buf, sizeof(buf), ++s->seq, s->stream_sid,
					    s->account_sid, s->call_sid));
	ws_close(s->ws, 1000, "call ended");
}

void strm_abandon(strm *s)
{
	if (!s)
		return;
	memset(&s->h, 0, sizeof(s->h));
	s->arg = NULL;
	strm_stop(s);
}

bool strm_is_open(const strm *s)
{
	return s && s->open && !s->stopping;
}

const strm_stats *strm_get_stats(const strm *s)
{
	return &s->st;
}
