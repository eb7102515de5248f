/* rtf internals shared by rtf_srv.c (server, connections, client events)
 * and rtf_script.c (scripted actions, audio sources, restaurant VAD). */
#ifndef VX_RTF_INT_H
#define VX_RTF_INT_H
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "rtf.h"
#include "rtf_check.h"

typedef struct resp {
	struct resp *next;
	uint8_t *audio;
	size_t len;
	char transcript[160];
	char fn[64];
	char *fn_args;
} resp;

typedef struct conn {
	struct rtf *srv;
	struct conn *prev, *next;
	ws_conn *ws;
	int no;
	rtfc chk;
	FILE *audio_out;
	uint64_t t_accept, t_update, last_delta;
	bool created_sent, updated, greeted, awaiting_tool, timer_closed, ws_gone;
	size_t next_action;
	uv_timer_t timer;
	resp *q, *cur;
	size_t off;
	bool cur_started;
	char resp_id[32], item_id[32];
	unsigned nresp, nitem, ncall;
	int vad_speech, vad_run, vad_quiet;
	unsigned turns;
	char *buf;
	size_t bufcap;
} conn;

struct rtf {
	uv_loop_t *loop;
	ws_ctx *ctx;
	rtf_opts o;
	conn *conns;
	int nconn;
	unsigned nrefused;
	unsigned violations, events, appends, fc_outputs, responses, session_updates, closes_by_client;
	uint64_t audio_bytes, evid;
	json_t *truncates;
};

void rtf_conn_send(conn *c, const char *s, size_t n);
/* printf-style server event; a fresh event_id is spliced in after '{' */
void rtf_sendf(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rtf_esc(char *dst, size_t cap, const char *s); /* JSON string literal */
uint8_t *rtf_tone(const char *spec, size_t *len);   /* "HZ:MS" -> µ-law */
void rtf_queue(conn *c, uint8_t *audio, size_t len, const char *transcript, const char *fn,
	       const char *args);
void rtf_resp_free(resp *r);
void rtf_response_done(conn *c, const char *status, const char *reason);
void rtf_pump(conn *c, uint64_t now);
void rtf_speech_started(conn *c, uint64_t now);
void rtf_speech_stopped(conn *c, uint64_t now, const char *transcript);
void rtf_run_action(conn *c, const rtf_action *a, uint64_t now);
void rtf_vad(conn *c, const uint8_t *a, size_t n, uint64_t now);
#endif
