/* media: the sipbridge media thread. One libuv loop owns every RTP socket,
 * the 20 ms playout clock and one WS client (to WS_URL) per call.
 *
 * Threading: media_call_* functions are called from the SIP thread; they
 * copy their arguments into a locked queue and wake the media loop with
 * an eventfd. Results come back through media_event_h, which runs ON THE
 * MEDIA THREAD: the SIP side must only enqueue them for its own thread
 * (su_msg / its own queue). Calls are named by a key the SIP side picks.
 *
 * Call flow: SIP thread gets an INVITE, picks the codec from the offer,
 * allocates an RTP socket (rtp_sock_alloc, thread-safe), then
 * media_call_start(). The media thread connects the WS, sends connected +
 * start and reports MEDIA_EV_READY (SIP answers 200 with SDP) or
 * MEDIA_EV_FAILED (SIP answers 503). When the WS peer closes the stream the
 * media thread reports MEDIA_EV_HANGUP (SIP sends BYE). SIP calls
 * media_call_end() when the call ends for any reason; the media thread then
 * sends stop, closes the WS and frees the call, then reports MEDIA_EV_ENDED.
 *
 * Details (media.c, media_call.c, media_rx.c):
 *  - Every media_call_start is answered by READY or FAILED (unless
 *    media_call_end comes first, e.g. CANCEL while the WS connects), and
 *    after media_call_end by exactly one ENDED (a call that FAILED still
 *    needs its media_call_end). A duplicate key, or a start during shutdown, gets
 *    FAILED then ENDED at once. media_call_end on an unknown or already
 *    ending key does nothing. media_destroy ends every live call (ENDED is
 *    reported for each, on the media thread, before it returns).
 *  - media_call_start returns -EBUSY beyond max_calls (counted from start
 *    to ENDED), -EINVAL for a bad fd or a pt other than PCMU/PCMA. The fd is
 *    owned by media from a successful return (also on a later FAILED).
 *  - start.customParameters: every params[] pair in order, then "from",
 *    "to" and "sipCallId" (the SIP Call-ID), unless a --param already uses
 *    that name; at most 21 --param pairs fit (TW_MAX_PARAMS - 3).
 *  - The callSid (CA…) is made by media and is the call id of its log lines;
 *    the SIP Call-ID is logged once next to it.
 *  - RTP is sent (to the SDP address, or the latched source once a packet
 *    has arrived) from READY on: 20 ms packets, silence when nothing is
 *    queued, none while `hold` is set or no address is known. A changed
 *    remote in media_call_update drops the latch. dtmf_pt outside 96..127
 *    means none.
 *  - The media thread asks for SCHED_RR priority 10 (else nice -10; neither
 *    is required) so the 20 ms clock keeps its pace on a busy host; the
 *    environment variable VX_MEDIA_NO_RT=1 disables that. Outbound audio
 *    queued per call is capped at 2 MiB (~4 min); beyond, media is dropped
 *    with a warning. Stream messages over 512 KiB close the WS (1009):
 *    HANGUP. */
#ifndef VX_MEDIA_H
#define VX_MEDIA_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct media media;

enum { MEDIA_PT_PCMU = 0, MEDIA_PT_PCMA = 8 };
#define MEDIA_KV_MAX 24

typedef struct media_params {
	char sip_call_id[256];
	char from[128], to[128];          /* caller / called number or user */
	int rtp_fd;                       /* bound UDP socket from rtp_sock_alloc (media takes ownership) */
	int rtp_port;
	struct sockaddr_storage remote;   /* from the SDP offer; ss_family 0 = not yet known */
	int pt;                           /* MEDIA_PT_PCMU or MEDIA_PT_PCMA */
	int dtmf_pt;                      /* RFC 4733 payload type, -1 when none */
	bool hold;                        /* sendonly/inactive offered */
	char params[MEDIA_KV_MAX][2][256]; /* --param k=v pairs for customParameters */
	int nparams;
} media_params;

typedef enum {
	MEDIA_EV_READY = 1, /* WS connected, start sent: answer the call */
	MEDIA_EV_FAILED,    /* WS unreachable: 503 */
	MEDIA_EV_HANGUP,    /* WS closed by the peer (or fatal media error): send BYE */
	MEDIA_EV_ENDED,     /* media side freed after media_call_end */
} media_event;

typedef void (media_event_h)(uint64_t key, media_event ev, const char *reason, void *arg);

typedef struct media_opts {
	const char *ws_url;
	const char *stream_token;      /* STREAM_TOKEN, sent as "Authorization: Bearer …" when set */
	const char *account_sid;       /* AC… used in start/stop */
	int max_calls;
} media_opts;

int media_new(media **out, const media_opts *opts, media_event_h *eh, void *arg);
int media_start(media *m);   /* spawns the media thread */
/* Ends every call (stop + WS close), stops and joins the thread, frees. */
void media_destroy(media *m);

int media_call_start(media *m, uint64_t key, const media_params *p);
/* re-INVITE: new remote address, codec or hold state (fd/port unchanged). */
int media_call_update(media *m, uint64_t key, const media_params *p);
int media_call_end(media *m, uint64_t key, const char *reason);
unsigned media_live_calls(const media *m);

/* RTP port range allocator (thread-safe). Binds an even port in
 * [min,max] on addr, returns the fd and port; -EADDRINUSE when exhausted. */
int rtp_ports_init(int min, int max, const char *bind_addr);
int rtp_sock_alloc(int *fd, int *port);
/* Closes fd (unless fd < 0: already closed) and returns the port to the
 * range. Ports are handed out round-robin, so a freed port is not reused at
 * once. Without rtp_ports_init: 10000-20000 on 0.0.0.0. */
void rtp_sock_free(int fd, int port);
#endif
