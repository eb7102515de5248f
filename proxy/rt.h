/* rt: the OpenAI Realtime (GA) protocol as voiceproxy uses it (DESIGN.md
 * "OpenAI Realtime contract").
 * Server events: rt_parse() validates one text frame against a declarative
 * table (event type -> required fields and their JSON types) and fills an
 * rt_event whose string pointers borrow from its own parsed tree (free with
 * rt_event_clear). Pure: no I/O. Unknown event types parse fine as RT_OTHER
 * (the API adds events over time); a known type with a missing or mistyped
 * field is -EPROTO; bad JSON -EBADMSG; an audio delta whose base64 is not
 * canonical -EINVAL.
 * Client events: fixed-layout builders write into caller buffers (the audio
 * path allocates nothing); session.update is built once per call. */
#ifndef VX_RT_H
#define VX_RT_H
#include <stddef.h>

#include <jansson.h>

typedef enum {
	RT_OTHER = 0,
	RT_SESSION_CREATED,
	RT_SESSION_UPDATED,
	RT_SPEECH_STARTED,
	RT_SPEECH_STOPPED,
	RT_AUDIO_DELTA,        /* response.output_audio.delta (beta: response.audio.delta) */
	RT_OUT_TRANSCRIPT_DONE, /* response.output_audio_transcript.done */
	RT_IN_TRANSCRIPT_DONE, /* conversation.item.input_audio_transcription.completed */
	RT_FUNC_ARGS_DONE,     /* response.function_call_arguments.done */
	RT_RESPONSE_CREATED,
	RT_RESPONSE_DONE,
	RT_ERROR,
} rt_type;

typedef struct rt_event {
	rt_type type;
	const char *type_name;  /* as received */
	const char *event_id;
	const char *item_id;
	const char *response_id;
	const char *delta;      /* base64 audio (RT_AUDIO_DELTA), validated */
	size_t delta_len;       /* its length in chars */
	size_t audio_len;       /* decoded bytes */
	const char *transcript;
	const char *call_id;
	const char *fn_name;
	const char *arguments;
	long audio_start_ms;
	const json_t *response; /* RT_RESPONSE_DONE/CREATED: the response object */
	const json_t *usage;    /* response.usage when present */
	const char *err_type, *err_code, *err_message;
	json_t *root;           /* owned (NULL on the fast path) */
	char item_buf[128];     /* item_id storage for the fast path */
} rt_event;

int rt_parse(rt_event *ev, const char *json, size_t len, char *err, size_t errlen);
void rt_event_clear(rt_event *ev);
/* Fast path for the hottest event: an audio delta in a flat object is read
 * in place (no JSON tree, no allocation); ev->delta points into json.
 * 0 when it was one, -ENOENT for anything else (use rt_parse), -EINVAL for
 * a delta with bad base64. */
int rt_scan_delta(rt_event *ev, const char *json, size_t len);
/* Decoded length of canonical base64 text (strict alphabet, padding, zero
 * trailing bits), or -EINVAL. */
int rt_b64_len(const char *s, size_t n);

/* ---- client events (all return the length written or -ENOSPC) ---- */
#define RT_END_CALL_TOOL "end_call"
int rt_fmt_append(char *buf, size_t cap, const char *b64, size_t n);
int rt_fmt_truncate(char *buf, size_t cap, const char *item_id, long audio_end_ms);
/* instructions NULL = a plain {"type":"response.create"} */
int rt_fmt_response_create(char *buf, size_t cap, const char *instructions);
int rt_fmt_fc_output(char *buf, size_t cap, const char *call_id, const char *output);
/* conversation.item.create: a user message with one input_text part (e.g.
 * "[DTMF 5]"); no response.create goes with it. */
int rt_fmt_user_text(char *buf, size_t cap, const char *text);

typedef struct rt_session {
	const char *instructions;
	const char *voice;
	const char *transcription_model; /* NULL/"" = no input transcription */
	const json_t *tools;             /* array of function tools, may be NULL */
} rt_session;
/* The GA session.update, tools reduced to type/name/description/parameters
 * plus the built-in end_call tool. Returns malloc'd text (free()) or NULL. */
char *rt_session_update(const rt_session *s);
#endif
