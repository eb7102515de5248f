/* lg_echo: the load generator's model side, an echo fake of the OpenAI
 * Realtime API (GA) (lg.h): session.update -> session.updated, a live
 * input_audio_buffer.append comes straight back (same base64) as a
 * response.output_audio.delta. What happened to each frame is the caller's
 * to count (frame_h). */
#include "lg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

int lg_echo_init(lg_echo *e, size_t max_audio, lg_echo_send_f send, lg_echo_frame_h frame_h, void *arg)
{
	memset(e, 0, sizeof(*e));
	e->send = send;
	e->frame_h = frame_h;
	e->arg = arg;
	e->audiocap = max_audio;
	e->bufcap = B64_ENC_LEN(max_audio) + 4096;
	e->audio = malloc(e->audiocap);
	e->buf = malloc(e->bufcap);
	if (!e->audio || !e->buf) {
		lg_echo_free(e);
		return -ENOMEM;
	}
	return 0;
}

void lg_echo_free(lg_echo *e)
{
	free(e->audio);
	free(e->buf);
	e->audio = NULL;
	e->buf = NULL;
}

static void lg_echo_frames(lg_echo *e, int n, lg_echo_fate fate, int64_t t_rx, int64_t t_loop, int64_t t_tx)
{
	for (int off = 0; off + LG_FRAME <= n; off += LG_FRAME)
		e->frame_h(e->audio + off, fate, t_rx, t_loop, t_tx, e->arg);
}

void lg_echo_text(lg_echo *e, void *conn, const char *d, size_t len, int64_t t_rx, int64_t t_loop)
{
	static const char head[] = "{\"type\":\"response.output_audio.delta\",\"event_id\":\"evt_b\",\"response_id\":"
				   "\"resp_b\",\"item_id\":\"item_b\",\"output_index\":0,\"content_index\":0,\"delta\":\"";
	size_t tl = 0, al = 0, pos;
	const char *type = lg_json_str(d, len, "type", &tl), *a;
	int64_t t_tx;
	int n, r;

	if (!type)
		return;
	if (tl == 14 && !memcmp(type, "session.update", 14)) {
		static const char upd[] =
			"{\"type\":\"session.updated\",\"event_id\":\"evt_1\",\"session\":{\"type\":\"realtime\","
			"\"object\":\"realtime.session\",\"id\":\"sess_bench\",\"model\":\"gpt-realtime\",\"audio\":"
			"{\"input\":{\"format\":{\"type\":\"audio/pcmu\"}},\"output\":{\"format\":{\"type\":\"audio/pcmu\"},"
			"\"voice\":\"alloy\"}}}}";
		e->send(conn, upd, sizeof(upd) - 1);
		return;
	}
	if (tl != 25 || memcmp(type, "input_audio_buffer.append", 25) || !(a = lg_json_str(d, len, "audio", &al)))
		return;
	e->appends++;
	n = b64_decode(e->audio, e->audiocap, a, al);
	if (n < 0) {
		e->bad++;
		return;
	}
	/* Only live 20 ms frames are echoed. A bigger append is audio voiceproxy
	 * held while the session was being set up, flushed at once: echoing it
	 * would leave a standing queue of that many frames in the playout at the
	 * caller for the rest of the call, measuring the backlog rather than the
	 * relay. */
	if (n > LG_FRAME) {
		lg_echo_frames(e, n, LG_ECHO_HELD, t_rx, t_loop, 0);
		return;
	}
	if (al + sizeof(head) + 2 > e->bufcap)
		return;
	memcpy(e->buf, head, sizeof(head) - 1); /* not snprintf: 50 a second per stream */
	pos = sizeof(head) - 1;
	memcpy(e->buf + pos, a, al);
	pos += al;
	memcpy(e->buf + pos, "\"}", 2);
	pos += 2;
	t_tx = lg_now_ns();
	r = e->send(conn, e->buf, pos);
	lg_echo_frames(e, n, r == 0 ? LG_ECHO_SENT : LG_ECHO_UNSENT, t_rx, t_loop, t_tx);
}
