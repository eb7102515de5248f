/* media internals shared by media.c (thread, command queue, clock) and
 * media_call.c (one call: RTP in/out, stream). Not for users of media.h. */
#ifndef VX_MEDIA_INT_H
#define VX_MEDIA_INT_H
#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#include "dtmf.h"
#include "jb.h"
#include "media.h"
#include "playq.h"
#include "rtp.h"
#include "strm.h"
#include "ws.h"

#define MEDIA_FRAME 160           /* bytes per 20 ms packet, both directions */
#define MEDIA_PTIME_NS 20000000ull
#define MEDIA_CATCHUP_MAX 5       /* ticks caught up after a stall */
#define MEDIA_WS_CONNECT_MS 3000
#define MEDIA_PLAY_MAX (2u << 20) /* queued outbound audio per call (~4.4 min) */
#define MEDIA_JB_STALL_NS 60000000ull

typedef struct mcall mcall;

typedef enum { CMD_START = 1, CMD_UPDATE, CMD_END, CMD_SHUTDOWN } cmd_type;

typedef struct cmd {
	struct cmd *next;
	cmd_type type;
	uint64_t key;
	media_params *p;       /* START/UPDATE, owned by the command */
	char reason[128];
} cmd;

typedef struct mcall_stats {
	uint64_t rx_pkts, rx_bad, rx_foreign, rx_unknown_pt, rx_dtmf_bad;
	uint64_t tx_pkts, tx_fail, ticks_late;
} mcall_stats;

struct mcall {
	mcall *prev, *next;
	media *m;
	uint64_t key;
	char log_id[TW_SID_MAX];       /* the callSid: every log line of the call */
	int rtp_fd, rtp_port;
	uv_udp_t udp;
	bool udp_ready;                /* handle initialised (must be closed) */
	strm *st;
	bool ws_open, ended, finishing, reported_ready;
	/* addresses */
	struct sockaddr_storage sdp_remote;   /* ss_family 0 = unknown */
	struct sockaddr_storage latched;      /* source actually seen */
	bool is_latched;
	int sock_family;
	/* inbound */
	jb jb;
	dtmf_det dtmf;
	int pt, dtmf_pt;
	bool hold;
	uint8_t acc[MEDIA_FRAME];             /* re-chunking to 20 ms media events */
	size_t acc_len;
	uint64_t acc_ms;
	bool in_sync;
	uint32_t sync_ssrc, rtp_base;
	uint64_t ms_base, next_ms;
	uint64_t start_ns, last_rx_ns;
	/* outbound */
	playq *pq;
	uint32_t ssrc, ts;
	uint16_t seq;
	uint64_t last_write_ns;                /* last application audio received */
	bool talking;
	mcall_stats stats;
};

struct media {
	uv_loop_t loop;
	uv_thread_t thr;
	bool thr_started;
	/* Commands from the SIP thread wake the loop through an eventfd, not
	 * uv_async: uv_async_send leaves a window where the receiving loop
	 * spins (sched_yield) until the sender finishes, and a SCHED_RR media
	 * thread spinning on a preempted normal-priority SIP thread stalled
	 * every call's pacing for 50-70 ms (issue 7 bench, mass hang-up). */
	int efd;
	uv_poll_t wake;
	uv_poll_t tick;
	int tfd;
	uv_timer_t shut_timer;
	uint64_t tick_t0;              /* first deadline (CLOCK_MONOTONIC ns) */
	uint64_t ticks;                /* deadlines processed */
	uint64_t ticks_late2, tick_late_max; /* wake-up lateness stats */
	bool in_tick;
	pthread_mutex_t mu;
	cmd *q_head, *q_tail;
	ws_ctx *ws;
	char *ws_url, *token;
	char account_sid[TW_SID_MAX];
	int max_calls;
	media_event_h *eh;
	void *arg;
	mcall *calls;
	atomic_uint admitted;          /* started and not yet ENDED */
	bool shutting, closed;
	uint8_t rxbuf[RTP_MAX_PKT + 64];
};

/* media.c */
void media_report(media *m, uint64_t key, media_event ev, const char *reason);
void media_maybe_finish_shutdown(media *m);
void media_tick_poll(media *m); /* runs the 20 ms tick now if it is due */

/* media_rx.c */
void mcall_on_ordered(const rtp_hdr *h, void *arg);
void mcall_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
void mcall_on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags);
bool media_same_addr(const struct sockaddr_storage *a, const struct sockaddr *b);
void media_addr_str(const struct sockaddr_storage *a, char *buf, size_t len);
struct sockaddr_storage media_dest_for(const mcall *c, const struct sockaddr_storage *a);

/* media_call.c */
void mcall_start(media *m, uint64_t key, const media_params *p);
void mcall_update(mcall *c, const media_params *p);
void mcall_end(mcall *c, const char *reason);
void mcall_tick(mcall *c, unsigned frames, uint64_t now_ns);
mcall *mcall_find(media *m, uint64_t key);
#endif
