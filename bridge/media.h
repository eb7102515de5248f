/* media: the sipbridge media thread. One libuv loop owns every RTP socket,
 * the 20 ms playout clock and one WS client (to WS_URL) per call.
 *
 * Threading: media_call_* functions are called from the SIP thread; they
 * copy their arguments into a locked queue and wake the media loop with
 * uv_async_send. Results come back through media_event_h, which runs ON THE
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
 * sends stop, closes the WS and frees the call, then reports MEDIA_EV_ENDED. */
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
void rtp_sock_free(int fd, int port);
#endif
