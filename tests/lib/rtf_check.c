/* rtf_check: contract checks of client events; see rtf_check.h. */
#include "rtf_check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "rt.h"

void rtfc_init(rtfc *s)
{
	memset(s, 0, sizeof(*s));
}

void rtfc_call_issued(rtfc *s, const char *call_id)
{
	if (s->ncalls < RTFC_MAX_IDS)
		snprintf(s->calls[s->ncalls++], 64, "%s", call_id);
}

void rtfc_audio_sent(rtfc *s, const char *item_id, uint64_t bytes)
{
	for (size_t i = 0; i < s->nitems; i++)
		if (!strcmp(s->items[i].id, item_id)) {
			s->items[i].bytes += bytes;
			return;
		}
	if (s->nitems < RTFC_MAX_IDS) {
		snprintf(s->items[s->nitems].id, 64, "%s", item_id);
		s->items[s->nitems++].bytes = bytes;
	}
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(why, whylen, __VA_ARGS__); \
		rc = -EPROTO;                       \
		goto out;                           \
	} while (0)

static const char *str_at(json_t *o, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int check_session(json_t *ses, char *why, size_t whylen)
{
	static const char *const banned[] = { "modalities", "input_audio_format", "output_audio_format",
					      "temperature", "input_audio_transcription", "turn_detection",
					      "voice" };
	const char *s;
	json_t *tools, *t;
	size_t i;
	int rc = 0;

	if (!json_is_object(ses))
		FAIL("session.update without a session object");
	if (!(s = str_at(ses, "type", NULL, NULL)) || strcmp(s, "realtime"))
		FAIL("session.type is not \"realtime\"");
	for (i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		if (json_object_get(ses, banned[i]))
			FAIL("session.%s is not a GA session field", banned[i]);
	{
		json_t *in = json_object_get(json_object_get(ses, "audio"), "input");
		json_t *out = json_object_get(json_object_get(ses, "audio"), "output");
		if (!(s = str_at(in, "format", "type", NULL)) || strcmp(s, "audio/pcmu"))
			FAIL("session.audio.input.format.type is not audio/pcmu");
		if (!(s = str_at(out, "format", "type", NULL)) || strcmp(s, "audio/pcmu"))
			FAIL("session.audio.output.format.type is not audio/pcmu");
		if (!str_at(out, "voice", NULL, NULL))
			FAIL("session.audio.output.voice missing");
		if (!(s = str_at(in, "turn_detection", "type", NULL)) || strcmp(s, "server_vad"))
			FAIL("session.audio.input.turn_detection.type is not server_vad");
	}
	if (!str_at(ses, "instructions", NULL, NULL))
		FAIL("session.instructions missing");
	tools = json_object_get(ses, "tools");
	if (!json_is_array(tools))
		FAIL("session.tools missing");
	json_array_foreach(tools, i, t) {
		const char *k;
		json_t *v;
		json_object_foreach(t, k, v) {
			if (strcmp(k, "type") && strcmp(k, "name") && strcmp(k, "description") &&
			    strcmp(k, "parameters"))
				FAIL("tool %zu carries \"%s\" (only type, name, description, parameters)", i, k);
		}
		if (!(s = str_at(t, "type", NULL, NULL)) || strcmp(s, "function") || !str_at(t, "name", NULL, NULL))
			FAIL("tool %zu is not a named function tool", i);
	}
out:
	return rc;
}

int rtfc_check(rtfc *s, const char *json, size_t len, rtfc_info *info, char *why, size_t whylen)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je), *v;
	const char *type;
	int rc = 0;

	memset(info, 0, sizeof(*info));
	if (!root)
		FAIL("not JSON: %s", je.text);
	if (!json_is_object(root) || !(type = str_at(root, "type", NULL, NULL)))
		FAIL("no \"type\"");
	snprintf(info->type, sizeof(info->type), "%s", type);
	if (!s->session_seen && strcmp(type, "session.update"))
		FAIL("%s before session.update", type);
	if (!strcmp(type, "session.update")) {
		s->session_seen = true;
		s->session_updates++;
		if ((rc = check_session(json_object_get(root, "session"), why, whylen)))
			goto out;
	} else if (!strcmp(type, "input_audio_buffer.append")) {
		const char *a = str_at(root, "audio", NULL, NULL);
		size_t al;
		if (!a)
			FAIL("append without audio");
		al = json_string_length(json_object_get(root, "audio"));
		if (!al || rt_b64_len(a, al) <= 0)
			FAIL("append audio is not base64 audio");
		/* point into the caller's text: find the same bytes there */
		info->audio = memmem(json, len, a, al);
		info->audio_len = info->audio ? al : 0;
		if (json_object_size(root) != 2)
			FAIL("append carries extra fields");
	} else if (!strcmp(type, "conversation.item.truncate")) {
		const char *item = str_at(root, "item_id", NULL, NULL);
		json_t *ci = json_object_get(root, "content_index"), *ms = json_object_get(root, "audio_end_ms");
		if (!item || !json_is_integer(ci) || json_integer_value(ci) != 0 || !json_is_integer(ms) ||
		    json_integer_value(ms) < 0)
			FAIL("truncate needs item_id, content_index 0, audio_end_ms >= 0");
		snprintf(info->item_id, sizeof(info->item_id), "%s", item);
		info->audio_end_ms = (long)json_integer_value(ms);
		info->sent_ms = -1;
		for (size_t i = 0; i < s->nitems; i++)
			if (!strcmp(s->items[i].id, item))
				info->sent_ms = (long)(s->items[i].bytes / 8);
		if (info->sent_ms < 0)
			FAIL("truncate of unknown item %s", item);
		if (info->audio_end_ms > info->sent_ms)
			FAIL("truncate at %ld ms, beyond the %ld ms of audio sent", info->audio_end_ms,
			     info->sent_ms);
	} else if (!strcmp(type, "conversation.item.create")) {
		json_t *item = json_object_get(root, "item");
		const char *it = str_at(item, "type", NULL, NULL);
		if (!it)
			FAIL("item.create without item.type");
		if (!strcmp(it, "function_call_output")) {
			const char *cid = str_at(item, "call_id", NULL, NULL);
			bool known = false;
			if (!cid || !str_at(item, "output", NULL, NULL))
				FAIL("function_call_output needs call_id and output");
			for (size_t i = 0; i < s->ncalls; i++)
				known |= !strcmp(s->calls[i], cid);
			if (!known)
				FAIL("function_call_output for unknown call_id %s", cid);
			snprintf(info->call_id, sizeof(info->call_id), "%s", cid);
			v = json_loads(str_at(item, "output", NULL, NULL), 0, NULL);
			if (!json_is_object(v)) {
				json_decref(v);
				FAIL("function_call_output.output is not a JSON object text");
			}
			json_decref(v);
		} else if (strcmp(it, "message")) {
			FAIL("unexpected item type %s", it);
		}
	} else if (!strcmp(type, "response.create")) {
		v = json_object_get(root, "response");
		if (v && !json_is_object(v))
			FAIL("response.create.response is not an object");
		info->has_instructions = str_at(v, "instructions", NULL, NULL) != NULL;
		if (v && json_object_get(v, "modalities"))
			FAIL("response.modalities is not GA");
	} else if (strcmp(type, "response.cancel") && strcmp(type, "input_audio_buffer.commit") &&
		   strcmp(type, "input_audio_buffer.clear") && strcmp(type, "output_audio_buffer.clear")) {
		FAIL("unexpected client event %s", type);
	}
out:
	json_decref(root);
	return rc;
}
