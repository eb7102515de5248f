/* rtf_check: the fake Realtime server's contract check of each client event
 * voiceproxy sends (DESIGN.md "OpenAI Realtime contract"; the full JSON
 * Schema check is tests/lib/check_realtime_schema.py). Pure, per
 * connection state. */
#ifndef VX_RTF_CHECK_H
#define VX_RTF_CHECK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTFC_MAX_IDS 64

typedef struct rtfc {
	bool session_seen;
	unsigned session_updates;
	size_t ncalls;
	char calls[RTFC_MAX_IDS][64];          /* call_ids the server issued */
	size_t nitems;
	struct { char id[64]; uint64_t bytes; } items[RTFC_MAX_IDS]; /* audio sent per item */
} rtfc;

typedef struct rtfc_info {
	char type[64];
	const char *audio;     /* append: base64 (into the checked text) */
	size_t audio_len;
	char item_id[64];      /* truncate */
	long audio_end_ms;     /* truncate */
	long sent_ms;          /* truncate: audio the server had sent for that item */
	char call_id[64];      /* function_call_output */
	bool has_instructions; /* response.create */
} rtfc_info;

void rtfc_init(rtfc *s);
void rtfc_call_issued(rtfc *s, const char *call_id);
void rtfc_audio_sent(rtfc *s, const char *item_id, uint64_t bytes);
/* 0 when the event keeps the contract, -EPROTO (why filled) otherwise. */
int rtfc_check(rtfc *s, const char *json, size_t len, rtfc_info *info, char *why, size_t whylen);
#endif
