/* rtf: a fake OpenAI Realtime (GA) server for tests, the demo and the
 * benchmark. It records every client event, checks each against the
 * contract (rtf_check), and plays a script: timed actions relative to the
 * session.update (speak audio, caller speech events, transcripts, function
 * calls, errors, abrupt closes), a greeting on the first response.create,
 * an echo mode (caller audio comes back as agent audio) and a "restaurant"
 * mode (energy VAD on the caller's audio; answers with audio, then a
 * create_order tool call, then end_call). Server messages follow the
 * official schema's shapes. Runs on one libuv loop. */
#ifndef VX_RTF_H
#define VX_RTF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "ws.h"

typedef enum {
	RTF_SAY = 1,        /* arg: µ-law file; a response with audio */
	RTF_TONE,           /* arg: "HZ:MS"; a response with a generated tone */
	RTF_SPEECH_STARTED,
	RTF_SPEECH_STOPPED,
	RTF_TRANSCRIPT,     /* arg: caller transcript */
	RTF_CALL,           /* arg: "NAME:ARGS_JSON"; a response with a function call */
	RTF_ERROR,          /* arg: "TYPE:MESSAGE" */
	RTF_CLOSE,          /* arg: close code or "" (1011) */
} rtf_kind;

typedef struct rtf_action {
	unsigned at_ms; /* after session.update */
	rtf_kind kind;
	const char *arg;
} rtf_action;

typedef struct rtf_opts {
	FILE *record;            /* JSONL of client events, or NULL */
	const char *audio_out;   /* caller audio per connection: PREFIX.N */
	const char *key;         /* expected bearer, or NULL */
	unsigned slow_start_ms;  /* delay before session.created */
	const char *greet;       /* µ-law file said on the first response.create */
	const char *greet_tone;  /* or "HZ:MS" */
	unsigned chunk;          /* bytes per audio delta (default 1600) */
	unsigned pace_ms;        /* delay between deltas (default 100) */
	bool echo;
	bool restaurant;
	int refuse;              /* answer every upgrade with this HTTP status (401, 429…), 0 = accept */
	const rtf_action *actions;
	size_t nactions;
} rtf_opts;

typedef struct rtf rtf;

int rtf_new(rtf **out, uv_loop_t *loop, const rtf_opts *o, const char *addr, int port, int *bound);
void rtf_destroy(rtf *r);      /* closes connections; run the loop afterwards */
unsigned rtf_violations(const rtf *r);
void rtf_summary(const rtf *r, FILE *f); /* one JSON line */
#endif
