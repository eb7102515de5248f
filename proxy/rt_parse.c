/* rt_parse: Realtime server events, validated from a table; see rt.h. */
#include "rt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"

typedef enum { F_STR, F_INT, F_OBJ } ftype;

typedef struct field {
	const char *path; /* "name" or "outer.inner" */
	ftype t;
	size_t off;       /* into rt_event */
	int required;
} field;

#define S(p, m, r) { p, F_STR, offsetof(rt_event, m), r }
#define I(p, m, r) { p, F_INT, offsetof(rt_event, m), r }
#define O(p, m, r) { p, F_OBJ, offsetof(rt_event, m), r }
#define MAXF 8

static const struct spec {
	const char *name;
	rt_type type;
	field f[MAXF];
} specs[] = {
	{ "session.created", RT_SESSION_CREATED, { O("session", response, 1) } },
	{ "session.updated", RT_SESSION_UPDATED, { O("session", response, 1) } },
	{ "input_audio_buffer.speech_started", RT_SPEECH_STARTED,
	  { S("item_id", item_id, 0), I("audio_start_ms", audio_start_ms, 0) } },
	{ "input_audio_buffer.speech_stopped", RT_SPEECH_STOPPED, { S("item_id", item_id, 0) } },
	{ "response.output_audio.delta", RT_AUDIO_DELTA,
	  { S("item_id", item_id, 1), S("delta", delta, 1), S("response_id", response_id, 0) } },
	{ "response.audio.delta", RT_AUDIO_DELTA,
	  { S("item_id", item_id, 1), S("delta", delta, 1), S("response_id", response_id, 0) } },
	{ "response.output_audio_transcript.done", RT_OUT_TRANSCRIPT_DONE,
	  { S("transcript", transcript, 1), S("item_id", item_id, 0) } },
	{ "response.audio_transcript.done", RT_OUT_TRANSCRIPT_DONE,
	  { S("transcript", transcript, 1), S("item_id", item_id, 0) } },
	{ "conversation.item.input_audio_transcription.completed", RT_IN_TRANSCRIPT_DONE,
	  { S("transcript", transcript, 1), S("item_id", item_id, 0) } },
	{ "response.function_call_arguments.done", RT_FUNC_ARGS_DONE,
	  { S("call_id", call_id, 1), S("name", fn_name, 1), S("arguments", arguments, 1),
	    S("item_id", item_id, 0) } },
	{ "response.created", RT_RESPONSE_CREATED, { O("response", response, 1), S("response.id", response_id, 0) } },
	{ "response.done", RT_RESPONSE_DONE,
	  { O("response", response, 1), O("response.usage", usage, 0), S("response.id", response_id, 0) } },
	{ "error", RT_ERROR,
	  { S("error.message", err_message, 1), S("error.type", err_type, 0),
	    S("error.code", err_code, 0) } },
};

static const json_t *lookup(const json_t *root, const char *path)
{
	char key[64];
	const char *dot = strchr(path, '.');

	if (!dot)
		return json_object_get(root, path);
	snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
	root = json_object_get(root, key);
	return json_is_object(root) ? json_object_get(root, dot + 1) : NULL;
}

int rt_b64_len(const char *s, size_t n)
{
	if (n > (size_t)1 << 30)
		return -EINVAL;
	return b64_check(s, n);
}

void rt_event_clear(rt_event *ev)
{
	if (ev->root)
		json_decref(ev->root);
	memset(ev, 0, sizeof(*ev));
}

int rt_parse(rt_event *ev, const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	const json_t *t;
	const struct spec *sp = NULL;

	memset(ev, 0, sizeof(*ev));
	ev->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!ev->root) {
		snprintf(err, errlen, "bad JSON: %s", je.text);
		return -EBADMSG;
	}
	if (!json_is_object(ev->root)) {
		snprintf(err, errlen, "not a JSON object");
		goto proto;
	}
	t = json_object_get(ev->root, "type");
	if (!json_is_string(t)) {
		snprintf(err, errlen, "missing \"type\"");
		goto proto;
	}
	ev->type_name = json_string_value(t);
	t = json_object_get(ev->root, "event_id");
	ev->event_id = json_is_string(t) ? json_string_value(t) : "";
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (!strcmp(specs[i].name, ev->type_name)) {
			sp = &specs[i];
			break;
		}
	if (!sp)
		return 0; /* RT_OTHER */
	ev->type = sp->type;
	for (size_t i = 0; i < MAXF && sp->f[i].path; i++) {
		const field *f = &sp->f[i];
		const json_t *v = lookup(ev->root, f->path);
		char *dst = (char *)ev + f->off;
		int ok = (f->t == F_STR && json_is_string(v)) || (f->t == F_INT && json_is_integer(v)) ||
			 (f->t == F_OBJ && json_is_object(v));
		if (!ok) {
			if (!v || json_is_null(v)) {
				if (!f->required)
					continue;
				snprintf(err, errlen, "%s: missing %s", ev->type_name, f->path);
			} else {
				snprintf(err, errlen, "%s: %s has the wrong type", ev->type_name, f->path);
			}
			goto proto;
		}
		if (f->t == F_STR)
			*(const char **)dst = json_string_value(v);
		else if (f->t == F_INT)
			*(long *)dst = (long)json_integer_value(v);
		else
			*(const json_t **)dst = v;
	}
	if (ev->type == RT_AUDIO_DELTA) {
		int n;
		ev->delta_len = json_string_length(json_object_get(ev->root, "delta"));
		n = rt_b64_len(ev->delta, ev->delta_len);
		if (n < 0) {
			snprintf(err, errlen, "%s: delta is not valid base64", ev->type_name);
			ev->type = RT_OTHER;
			return -EINVAL;
		}
		ev->audio_len = (size_t)n;
	}
	return 0;
proto:
	ev->type = RT_OTHER;
	return -EPROTO;
}
