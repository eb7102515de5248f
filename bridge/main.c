/* sipbridge (also main-sipbridge): answers SIP calls from a trunk or a
 * gateway and streams each one to WS_URL as a Twilio Media Stream.
 * main wires config, the media thread (media.h) and the SIP thread (this
 * thread, sip_ua.h), turns SIGINT/SIGTERM into a drain, and exits 0 after
 * it (1 on a start-up failure, 2 on a configuration error). */
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>

#include "ids.h"
#include "log.h"
#include "media.h"
#include "sb_config.h"
#include "sip_ua.h"

static sipua *g_ua;

static void on_signal(int sig)
{
	(void)sig;
	if (g_ua)
		sipua_stop(g_ua); /* async-signal-safe: a flag and one write() */
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Each call holds two descriptors (RTP socket, WS socket): take the hard
 * limit when the soft one is lower (systemd's default soft limit is 1024),
 * and say so when even that cannot carry MAX_CALLS. Beyond it new calls get
 * 503 (sip_call.c), live ones are unaffected. */
static void raise_fd_limit(int max_calls)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)max_calls * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("-", "file descriptor limit %llu is below the ~%llu MAX_CALLS=%d needs: calls beyond it get 503 "
			 "(raise ulimit -n / LimitNOFILE=)",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)need, max_calls);
	else
		log_debug("-", "file descriptor limit %llu", (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
	sb_config conf;
	cfg *store = NULL;
	sipua *ua = NULL;
	media *m = NULL;
	char account[ID_SIZE];
	int rc, status = 1;

	log_init("sipbridge");
	rc = sb_config_load(&conf, &store, argc, argv);
	if (rc == 1)
		return 0;
	if (rc < 0)
		return 2;
	log_set_level((log_level)conf.log_level);
	raise_fd_limit(conf.max_calls);
	if (rtp_ports_init(conf.rtp_min, conf.rtp_max, conf.bind_addr) < 0) {
		log_err("-", "rtp: cannot use ports %d-%d on %s", conf.rtp_min, conf.rtp_max, conf.bind_addr);
		goto out;
	}
	/* One account id per process, as Twilio's AC… for every stream. */
	if (id_new(account, "AC") < 0)
		goto out;
	if (sipua_new(&ua, &conf) < 0)
		goto out;
	media_opts mo = {
		.ws_url = conf.ws_url,
		.stream_token = conf.stream_token,
		.account_sid = account,
		.max_calls = conf.max_calls,
	};
	if (media_new(&m, &mo, sipua_media_event, ua) < 0) {
		log_err("-", "media: cannot create the media thread");
		goto out;
	}
	sipua_set_media(ua, m);
	if (media_start(m) < 0) {
		log_err("-", "media: cannot start the media thread");
		goto out;
	}
	g_ua = ua;
	install_signals();
	log_info("-", "sipbridge ready: streaming calls to %s%s, MAX_CALLS=%d, RTP %d-%d (" SB_VERSION ")",
		 conf.ws_url, conf.sip_username ? "" : " (gateway mode: no registration)", conf.max_calls,
		 conf.rtp_min, conf.rtp_max);
	status = sipua_run(ua) == 0 ? 0 : 1;
out:
	media_destroy(m); /* joins the media thread: no more events after this */
	g_ua = NULL;
	sipua_destroy(ua);
	sb_config_free(store);
	log_info("-", "sipbridge exiting (%d)", status);
	return status;
}
