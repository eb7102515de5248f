/* rt_build: Realtime client events; see rt.h. Field shapes follow the
 * official schema (RealtimeClientEvent*), checked by the integration tests. */
#include "rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

static int done(int r, size_t pos)
{
	return r ? r : (int)pos;
}

int rt_fmt_append(char *buf, size_t cap, const char *b64, size_t n)
{
	size_t pos = 0;
	int r = jw_lit(buf, cap, &pos, "{\"type\":\"input_audio_buffer.append\",\"audio\":\"");

	/* 50 per second per call: no printf */
	if (!r)
		r = jw_mem(buf, cap, &pos, b64, n);
	if (!r)
		r = jw_lit(buf, cap, &pos, "\"}");
	return done(r, pos);
}

int rt_fmt_truncate(char *buf, size_t cap, const char *item_id, long audio_end_ms)
{
	size_t pos = 0;
	int r = jw_raw(buf, cap, &pos, "{\"type\":\"conversation.item.truncate\",\"item_id\":");
	if (!r)
		r = jw_str(buf, cap, &pos, item_id);
	if (!r)
		r = jw_raw(buf, cap, &pos, ",\"content_index\":0,\"audio_end_ms\":%ld}",
			   audio_end_ms < 0 ? 0 : audio_end_ms);
	return done(r, pos);
}

int rt_fmt_response_create(char *buf, size_t cap, const char *instructions)
{
	size_t pos = 0;
	int r;

	if (!instructions) {
		r = jw_raw(buf, cap, &pos, "{\"type\":\"response.create\"}");
		return done(r, pos);
	}
	r = jw_raw(buf, cap, &pos, "{\"type\":\"response.create\",\"response\":{\"instructions\":");
	if (!r)
		r = jw_str(buf, cap, &pos, instructions);
	if (!r)
		r = jw_raw(buf, cap, &pos, "}}");
	return done(r, pos);
}

int rt_fmt_fc_output(char *buf, size_t cap, const char *call_id, const char *output)
{
	size_t pos = 0;
	int r = jw_raw(buf, cap, &pos,
		       "{\"type\":\"conversation.item.create\",\"item\":{\"type\":\"function_call_output\",\"call_id\":");
	if (!r)
		r = jw_str(buf, cap, &pos, call_id);
	if (!r)
		r = jw_raw(buf, cap, &pos, ",\"output\":");
	if (!r)
		r = jw_str(buf, cap, &pos, output);
	if (!r)
		r = jw_raw(buf, cap, &pos, "}}");
	return done(r, pos);
}

int rt_fmt_user_text(char *buf, size_t cap, const char *text)
{
	size_t pos = 0;
	int r = jw_raw(buf, cap, &pos,
		       "{\"type\":\"conversation.item.create\",\"item\":{\"type\":\"message\",\"role\":\"user\","
		       "\"content\":[{\"type\":\"input_text\",\"text\":");
	if (!r)
		r = jw_str(buf, cap, &pos, text);
	if (!r)
		r = jw_raw(buf, cap, &pos, "}]}}");
	return done(r, pos);
}

/* Only the fields the live API accepts on a function tool. */
static json_t *clean_tool(const json_t *t)
{
	const json_t *name = json_object_get(t, "name");
	const json_t *desc = json_object_get(t, "description");
	const json_t *params = json_object_get(t, "parameters");
	json_t *o;

	if (!json_is_string(name) || !json_string_length(name))
		return NULL;
	if (!strcmp(json_string_value(name), RT_END_CALL_TOOL))
		return NULL; /* ours is added once below */
	o = json_pack("{s:s, s:O}", "type", "function", "name", name);
	if (!o)
		return NULL;
	if (json_is_string(desc))
		json_object_set(o, "description", (json_t *)desc);
	if (json_is_object(params))
		json_object_set(o, "parameters", (json_t *)params);
	return o;
}

char *rt_session_update(const rt_session *s)
{
	json_t *root = NULL, *tools, *input, *endcall;
	char *out = NULL;
	size_t i;
	const json_t *t;

	tools = json_array();
	if (!tools)
		return NULL;
	if (json_is_array(s->tools))
		json_array_foreach(s->tools, i, t) {
			json_t *c = clean_tool(t);
			if (c)
				json_array_append_new(tools, c);
		}
	endcall = json_pack("{s:s, s:s, s:s, s:{s:s, s:{}, s:[]}}", "type", "function", "name",
			    RT_END_CALL_TOOL, "description",
			    "Hang up the phone call. Call it after saying goodbye, when the caller is done.",
			    "parameters", "type", "object", "properties", "required");
	if (endcall)
		json_array_append_new(tools, endcall);
	input = json_pack("{s:{s:s}, s:{s:s}}", "format", "type", "audio/pcmu", "turn_detection", "type",
			  "server_vad");
	if (input && s->transcription_model && *s->transcription_model)
		json_object_set_new(input, "transcription",
				    json_pack("{s:s}", "model", s->transcription_model));
	root = json_pack("{s:s, s:{s:s, s:s, s:{s:o, s:{s:{s:s}, s:s}}, s:o}}", "type", "session.update",
			 "session", "type", "realtime", "instructions", s->instructions ? s->instructions : "",
			 "audio", "input", input, "output", "format", "type", "audio/pcmu", "voice",
			 s->voice && *s->voice ? s->voice : "alloy", "tools", tools);
	if (!root)
		return NULL; /* json_pack's "o" stole input and tools even on failure */
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}
