/* twilio: the Twilio Media Streams event codec (DESIGN.md "Twilio Media
 * Streams contract"), shared by voiceproxy (server side) and sipbridge
 * (stream side, the Twilio emulator).
 *
 * Two directions:
 *  - TW_FROM_STREAM: what Twilio (or sipbridge) sends to the application:
 *    connected, start, media, dtmf, mark, stop.
 *  - TW_FROM_APP: what the application sends back: media (payload only),
 *    mark, clear.
 * Parsing validates declaratively (a field table per event and direction):
 * a missing field, a wrong type, an unknown event, an over-long string or
 * bad base64 gives a negative errno and a one-line reason in `err`, never a
 * crash. Numbers Twilio sends as strings (sequenceNumber, chunk, timestamp)
 * must be strings of digits. Media payloads are decoded into a caller
 * buffer. Well-formed media and mark frames (the 50/s hot path) are read
 * by an allocation-free scanner (twilio_fast.c); anything else, and every
 * error, goes through jansson, with the same results either way (except
 * u.media.b64, which only the scanner can give).
 * Formatting writes into a caller buffer and returns the length or -ENOSPC;
 * output is byte-compatible with DESIGN.md (field order as shown there). */
#ifndef VX_TWILIO_H
#define VX_TWILIO_H
#include <stddef.h>
#include <stdint.h>

#include "b64.h" /* B64_ENC_LEN for TW_MEDIA_FMT_CAP */

#define TW_SID_MAX 64      /* incl. NUL */
#define TW_NAME_MAX 256    /* mark names, incl. NUL */
#define TW_KEY_MAX 64
#define TW_VAL_MAX 256
#define TW_MAX_PARAMS 24
#define TW_MEDIA_MAX 16384 /* decoded bytes accepted in one stream-side media event */

typedef enum { TW_FROM_STREAM, TW_FROM_APP } tw_dir;

typedef enum {
	TW_CONNECTED = 1, TW_START, TW_MEDIA, TW_DTMF, TW_MARK, TW_STOP, TW_CLEAR,
} tw_type;

enum { TW_TRACK_INBOUND = 1, TW_TRACK_OUTBOUND = 2 };

typedef struct tw_kv {
	char key[TW_KEY_MAX];
	char val[TW_VAL_MAX];
} tw_kv;

typedef struct tw_start {
	char account_sid[TW_SID_MAX];
	char call_sid[TW_SID_MAX];
	char stream_sid[TW_SID_MAX];
	unsigned tracks;            /* TW_TRACK_* bits */
	tw_kv params[TW_MAX_PARAMS]; /* customParameters, in received order */
	size_t nparams;
	char encoding[32];          /* "audio/x-mulaw" */
	unsigned sample_rate;       /* 8000 */
	unsigned channels;          /* 1 */
} tw_start;

typedef struct tw_event {
	tw_type type;
	uint64_t seq;                 /* sequenceNumber (stream side), 0 if absent */
	char stream_sid[TW_SID_MAX];  /* "" for connected */
	union {
		struct { char protocol[32]; char version[32]; } connected;
		tw_start start;
		struct {
			unsigned track;          /* TW_TRACK_*; 0 when absent (app side) */
			uint64_t chunk;          /* stream side */
			uint64_t timestamp;      /* ms, stream side */
			const uint8_t *payload;  /* points into the caller's audio buffer */
			size_t len;
			/* The payload's base64 text as received, to forward it
			 * without re-encoding. Points into tw_parse's `json` (valid
			 * as long as the caller's buffer); NOT NUL-terminated. When
			 * non-NULL it is exactly the text whose strict decoding is
			 * payload/len (canonical base64, no JSON escapes), so
			 * b64_len == B64_ENC_LEN(len). Set on success whenever the
			 * allocation-free scanner took the frame (every well-formed
			 * frame without escapes, non-ASCII bytes or unknown keys,
			 * i.e. what Twilio sends); NULL/0 otherwise, where jansson
			 * has no position in `json` to give: then encode payload
			 * (strict decoding makes that the same text). */
			const char *b64;
			size_t b64_len;
		} media;
		struct { char digit; } dtmf;
		struct { char name[TW_NAME_MAX]; } mark;
		struct { char account_sid[TW_SID_MAX]; char call_sid[TW_SID_MAX]; } stop;
	} u;
} tw_event;

/* Parse one text frame. audio/cap receive decoded media (may be NULL/0 when
 * the caller expects no media). 0 on success; -EBADMSG malformed JSON,
 * -EPROTO valid JSON that breaks the contract, -EINVAL bad base64,
 * -ENOSPC payload larger than cap. err gets a one-line reason. */
int tw_parse(tw_event *ev, const char *json, size_t len, tw_dir dir,
	     uint8_t *audio, size_t cap, char *err, size_t errlen);
const char *tw_type_name(tw_type t);

/* Stream side (Twilio / sipbridge -> application). */
int tw_fmt_connected(char *buf, size_t cap);
int tw_fmt_start(char *buf, size_t cap, uint64_t seq, const tw_start *st);
int tw_fmt_media(char *buf, size_t cap, uint64_t seq, const char *stream_sid,
		 unsigned track, uint64_t chunk, uint64_t timestamp_ms,
		 const uint8_t *audio, size_t n);
int tw_fmt_dtmf(char *buf, size_t cap, uint64_t seq, const char *stream_sid, char digit);
int tw_fmt_mark(char *buf, size_t cap, uint64_t seq, const char *stream_sid, const char *name);
int tw_fmt_stop(char *buf, size_t cap, uint64_t seq, const char *stream_sid,
		const char *account_sid, const char *call_sid);
/* Application side (application -> Twilio / sipbridge). */
int tw_fmt_app_media(char *buf, size_t cap, const char *stream_sid, const uint8_t *audio, size_t n);
int tw_fmt_app_mark(char *buf, size_t cap, const char *stream_sid, const char *name);
int tw_fmt_clear(char *buf, size_t cap, const char *stream_sid);

/* Room a formatted media event needs for n audio bytes (generous bound). */
#define TW_MEDIA_FMT_CAP(n) (B64_ENC_LEN(n) + 256 + 2 * TW_SID_MAX)
#endif
