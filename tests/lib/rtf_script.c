/* rtf_script: the fake Realtime server's scripted behaviour: timed
 * actions, audio sources (files, tones) and the "restaurant" mode's energy
 * VAD driving a scripted conversation; see rtf.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "g711.h"
#include "rtf_int.h"
#include "tfile.h"

uint8_t *rtf_tone(const char *spec, size_t *len)
{
	double hz = 440;
	unsigned ms = 1000;
	uint8_t *a;

	sscanf(spec, "%lf:%u", &hz, &ms);
	*len = (size_t)ms * 8;
	a = malloc(*len + 1);
	for (size_t i = 0; a && i < *len; i++)
		a[i] = g711_ulaw_encode((int16_t)(6000 * sin(2 * M_PI * hz * (double)i / 8000.0)));
	return a;
}

void rtf_speech_started(conn *c, uint64_t now)
{
	char item[32];
	snprintf(item, sizeof(item), "item_in_%d_%u", c->no, ++c->nitem);
	rtf_sendf(c, "{\"type\":\"input_audio_buffer.speech_started\",\"audio_start_ms\":%llu,\"item_id\":\"%s\"}",
	      (unsigned long long)(now - c->t_accept), item);
	if (c->cur && c->cur_started) { /* server VAD interrupts the response */
		rtf_response_done(c, "cancelled", "turn_detected");
		rtf_resp_free(c->cur);
		c->cur = NULL;
	}
}

void rtf_speech_stopped(conn *c, uint64_t now, const char *transcript)
{
	char item[32], tr[600];
	snprintf(item, sizeof(item), "item_in_%d_%u", c->no, c->nitem);
	rtf_sendf(c, "{\"type\":\"input_audio_buffer.speech_stopped\",\"audio_end_ms\":%llu,\"item_id\":\"%s\"}",
	      (unsigned long long)(now - c->t_accept), item);
	if (transcript) {
		rtf_esc(tr, sizeof(tr), transcript);
		rtf_sendf(c, "{\"type\":\"conversation.item.input_audio_transcription.completed\",\"item_id\":\"%s\","
			 "\"content_index\":0,\"transcript\":%s,\"usage\":{\"type\":\"duration\",\"seconds\":1}}",
		      item, tr);
	}
}

void rtf_run_action(conn *c, const rtf_action *a, uint64_t now)
{
	const char *arg = a->arg ? a->arg : "";
	size_t len = 0;
	uint8_t *au;
	char name[64];

	switch (a->kind) {
	case RTF_SAY:
		au = tfile_load(arg, &len);
		if (!au)
			fprintf(stderr, "fake_realtime: cannot read %s\n", arg);
		else
			rtf_queue(c, au, len, "scripted answer", NULL, NULL);
		break;
	case RTF_TONE:
		au = rtf_tone(arg, &len);
		rtf_queue(c, au, len, "scripted tone", NULL, NULL); /* len set by rtf_tone() above */
		break;
	case RTF_SPEECH_STARTED:
		rtf_speech_started(c, now);
		break;
	case RTF_SPEECH_STOPPED:
		rtf_speech_stopped(c, now, NULL);
		break;
	case RTF_TRANSCRIPT:
		rtf_speech_stopped(c, now, arg);
		break;
	case RTF_CALL: {
		const char *colon = strchr(arg, ':');
		snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
		rtf_queue(c, NULL, 0, NULL, name, colon ? colon + 1 : "{}");
		break;
	}
	case RTF_ERROR: {
		const char *colon = strchr(arg, ':');
		char type[64], msg[300];
		snprintf(type, sizeof(type), "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
		rtf_esc(msg, sizeof(msg), colon ? colon + 1 : "scripted error");
		rtf_sendf(c, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"code\":\"%s\",\"message\":%s,"
			 "\"param\":null,\"event_id\":null}}", type, type, msg);
		break;
	}
	case RTF_CLOSE:
		if (c->ws && !c->ws_gone)
			ws_close(c->ws, *arg ? atoi(arg) : 1011, "scripted close");
		break;
	}
}

/* Restaurant mode: energy VAD over the caller's audio, 20 ms blocks. */
void rtf_vad(conn *c, const uint8_t *a, size_t n, uint64_t now)
{
	for (size_t off = 0; off + 160 <= n; off += 160) {
		long sum = 0;
		for (size_t i = 0; i < 160; i++)
			sum += labs((long)g711_ulaw_decode(a[off + i]));
		bool loud = sum / 160 > 800;
		if (!c->vad_speech) {
			c->vad_run = loud ? c->vad_run + 1 : 0;
			if (c->vad_run >= 5) {
				c->vad_speech = 1;
				c->vad_quiet = 0;
				rtf_speech_started(c, now);
			}
		} else {
			c->vad_quiet = loud ? 0 : c->vad_quiet + 1;
			if (c->vad_quiet >= 30) {
				size_t len;
				c->vad_speech = 0;
				c->vad_run = 0;
				c->turns++;
				if (c->turns == 1) {
					uint8_t *au = rtf_tone("660:1200", &len); /* sets len first */
					rtf_speech_stopped(c, now, "I'd like a margherita pizza to take away, please.");
					rtf_queue(c, au, len,
					      "One margherita to take away, I'm placing your order.", "create_order",
					      "{\"items\":[{\"name\":\"Margherita\",\"quantity\":1}],"
					      "\"type\":\"pickup\",\"customerName\":\"Demo Caller\"}");
					c->awaiting_tool = true;
				} else {
					uint8_t *au = rtf_tone("520:1000", &len);
					rtf_speech_stopped(c, now, "That's all, thank you.");
					rtf_queue(c, au, len, "Thank you for your order, goodbye!",
					      "end_call", "{}");
				}
			}
		}
	}
}
