/* sip_int: private to the SIP thread's files (sip_ua.c, sip_call.c,
 * sip_reinvite.c, reg.c). Fixes sofia-sip's "magic" types once, so every
 * file sees the same callback signatures. */
#ifndef VX_SIP_INT_H
#define VX_SIP_INT_H
#define SU_ROOT_MAGIC_T void
#define SU_WAKEUP_ARG_T void
#define SU_TIMER_ARG_T void
#define NUA_MAGIC_T void
#define NUA_HMAGIC_T void

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>

#include "media.h"
#include "sb_acl.h"
#include "sb_config.h"
#include "sb_dns.h"
#include "sb_rate.h"
#include "sdp.h"
#include "sip_evq.h"
#include "sip_ua.h"

typedef struct reg reg;

typedef enum {
	SC_WAIT_MEDIA = 1, /* 180 sent, waiting for MEDIA_EV_READY / FAILED */
	SC_ANSWERED,       /* 200 sent (ACK may or may not have come) */
	SC_ENDING,         /* final non-2xx or BYE sent / received */
} sipcall_state;

typedef struct sipcall {
	struct sipcall *next;
	struct sipua *ua;
	uint64_t key;
	nua_handle_t *nh;      /* NULL once the dialog is terminated and destroyed */
	sipcall_state state;
	bool media_on;         /* media_call_start succeeded, ENDED not yet seen */
	bool media_end_sent;   /* media_call_end called */
	bool bye_sent;
	bool await_ack_answer; /* our offer was in the 200: the answer is in the ACK */
	char cid[64];          /* log id: the SIP Call-ID, sanitized and truncated */
	char from[128], to[128];
	char call_id[256];
	char local_addr[SDP_ADDR_MAX];
	int rtp_port;
	sdp_choice choice;     /* what media runs with now */
	uint64_t sess_id, sess_ver;
	char answer[2048];     /* SDP for the 200 (answer, or our offer) */
	su_timer_t *answer_timer; /* ANSWER_TIMEOUT, then the bound on MEDIA_EV_ENDED */
} sipcall;

struct sipua {
	const sb_config *cfg;
	su_root_t *root;
	nua_t *nua;
	media *m;
	evq *q;
	reg *reg;
	sb_acl *acl;            /* who may send INVITEs (sip_policy.c); NULL with acl_open = anyone */
	bool acl_open;
	sb_dns *dns;            /* registrar address lookups (registered mode) */
	char reg_host[256];     /* SIP_DOMAIN's host */
	char reg_addrs[1024];   /* its addresses as last resolved ("" = not yet) */
	sb_rate *deny_log;      /* 403 log lines: one per second per source */
	uint64_t deny_win_ms;   /* ... and at most SIP_DENY_LOG_MAX per second overall */
	unsigned deny_win_n;
	sb_rate *rate;          /* INVITE flood limiter, NULL = unlimited */
	uint64_t rate_log_ms;   /* last "rate limited" log line (one per second at most) */
	uint64_t nofd_log_ms;   /* last "out of file descriptors" line (same) */
	sipcall *calls;
	unsigned ncalls;
	uint64_t next_key;
	volatile sig_atomic_t stop_req;
	bool stopping;          /* no new calls; ending live ones */
	bool shutdown_sent;     /* nua_shutdown called */
	bool shutdown_done;     /* nua_r_shutdown received */
	bool grace_over;        /* SHUTDOWN_GRACE_MS elapsed: stop waiting for calls */
	su_timer_t *grace_timer;
	/* drop counters (logged at exit; issue 8 wants them counted) */
	unsigned long n_invites, n_busy, n_no_codec, n_bad_sdp, n_forbidden, n_media_fail, n_refused_stopping, n_rate_limited,
		n_no_fd;
};

/* sip_call.c */
void sipcall_on_invite(struct sipua *ua, nua_handle_t *nh, const sip_t *sip);
void sipcall_on_state(struct sipua *ua, sipcall *c, nua_handle_t *nh, int status, tagi_t tags[]);
void sipcall_on_media(struct sipua *ua, uint64_t key, media_event ev, const char *reason);
void sipcall_end(sipcall *c, const char *why);   /* BYE / 503 as the state asks */
void sipcall_free_all(struct sipua *ua);
sipcall *sipcall_find_nh(struct sipua *ua, nua_handle_t *nh);
/* Fill media params from the call's current choice. */
void sipcall_media_params(const sipcall *c, media_params *p);
/* sip_reinvite.c */
void sipcall_on_reinvite(sipcall *c, const sip_t *sip);
void sipcall_on_ack(sipcall *c, const sip_t *sip);
/* sip_util.c */
uint64_t sip_now_ms(void); /* monotonic */
void sip_sanitize(char *dst, size_t cap, const char *src);
void sip_url_who(char *dst, size_t cap, const sip_addr_t *a);
void sip_pick_local_addr(struct sipua *ua, sipcall *c, const char *peer);
/* The SDP of a request body (plain or in a multipart part). 0 / -ENOENT / -EBADMSG. */
int sip_body_sdp(const sip_t *sip, const char **sdp, size_t *len);
void sip_describe_src(char *buf, size_t cap, const su_addrinfo_t *ai, const char **ip_out, char *ip, size_t ipcap);
/* sip_policy.c: ALLOWED_SOURCES / SIP_GATEWAY / registrar addresses. */
int sip_policy_init(struct sipua *ua);
void sip_policy_destroy(struct sipua *ua);
/* Registration succeeded or was refreshed: re-resolve the registrar. */
void sip_policy_refresh(struct sipua *ua);
/* On every SIP-thread wakeup: apply a finished lookup. */
void sip_policy_poll(struct sipua *ua);
/* Admission: true = allowed; else counted, logged (rate-limited), caller sends 403. */
bool sip_policy_allows(struct sipua *ua, const su_addrinfo_t *ai, const char *cid, const char *src);
/* reg.c hooks */
int reg_new(reg **out, struct sipua *ua);
void reg_destroy(reg *r);
void reg_on_response(reg *r, nua_event_t ev, int status, const char *phrase, nua_handle_t *nh,
		     const sip_t *sip);
/* Unregister (bounded); the SIP loop continues shutting down when done. */
void reg_stop(reg *r);
bool reg_stopped(const reg *r);
bool reg_owns(const reg *r, nua_handle_t *nh);
/* sip_ua.c: called by calls when one is freed (drain progress). */
void sipua_call_gone(struct sipua *ua);
#endif
