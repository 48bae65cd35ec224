/*
 * libwebsockets' client against URLs read one per line on stdin, the driver contract of
 * tests/clients/__init__.py: one JSON line per URL, "opened" on LWS_CALLBACK_CLIENT_ESTABLISHED
 * (then a text frame and a Close), else the reason LWS_CALLBACK_CLIENT_CONNECTION_ERROR gave;
 * eight URLs at a time. The library's defaults: no extension offered (the context has no
 * `extensions` table); "?protocol=NAME" (or "?protocols=A,B") in the URL offers those
 * subprotocols. Compiled once per test session:
 *   cc -o driver driver.c $(pkg-config --cflags --libs libwebsockets)
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONCURRENCY 8

struct attempt {
	char url[4096], path[4096], host[300], protocols[1024], detail[512];
	struct lws *wsi;
	double deadline;
	int started, done, opened, sent, reported;
};

static struct lws_context *context;
static lws_sorted_usec_list_t tick;

/* lws_service() ignores its timeout: a timer every 20 ms bounds each wait for an event. */
static void
ticked(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(context, 0, sul, ticked, 20 * LWS_US_PER_MS);
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct attempt *a = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	unsigned char frame[LWS_PRE + 5];

	(void)user;
	(void)len;
	if (!a)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		snprintf(a->detail, sizeof a->detail, "%s", in ? (const char *)in : "connection error");
		a->done = 1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		a->opened = 1;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (a->sent)
			break;
		memcpy(frame + LWS_PRE, "hello", 5);
		lws_write(wsi, frame + LWS_PRE, 5, LWS_WRITE_TEXT);
		a->sent = 1;
		a->done = 1;
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		if (!a->opened && !a->detail[0])
			snprintf(a->detail, sizeof a->detail, "closed before open");
		a->done = 1;
		a->wsi = NULL;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "wsaccept-driver", callback, 0, 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* The subprotocols of "?protocol=a&protocols=b,c", comma-separated. */
static void
offered(const char *url, char *out, size_t size)
{
	const char *p = strchr(url, '?');
	size_t used = 0;

	out[0] = '\0';
	while (p) {
		p++;
		const char *value = !strncmp(p, "protocol=", 9) ? p + 9
				  : !strncmp(p, "protocols=", 10) ? p + 10 : NULL;
		if (value) {
			const char *end = strchr(value, '&');
			size_t n = end ? (size_t)(end - value) : strlen(value);
			if (used && used + 1 < size)
				out[used++] = ',';
			if (used + n >= size)
				n = size - used - 1;
			memcpy(out + used, value, n);
			used += n;
			out[used] = '\0';
		}
		p = strchr(p, '&');
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
json_string(const char *text)
{
	putchar('"');
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20 || *c > 0x7e)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

static void
report(struct attempt *a)
{
	printf("{\"url\": ");
	json_string(a->url);
	printf(", \"opened\": %s, \"detail\": ", a->opened ? "true" : "false");
	json_string(a->opened ? "" : a->detail);
	printf("}\n");
	fflush(stdout);
	a->reported = 1;
}

static void
start(struct attempt *a, double timeout)
{
	struct lws_client_connect_info info;
	char copy[4096];
	const char *scheme, *address, *rest;
	int port;

	a->started = 1;
	a->deadline = now() + timeout;
	snprintf(copy, sizeof copy, "%s", a->url);
	if (lws_parse_uri(copy, &scheme, &address, &port, &rest)) {
		snprintf(a->detail, sizeof a->detail, "cannot parse the URL");
		a->done = 1;
		return;
	}
	offered(a->url, a->protocols, sizeof a->protocols);
	snprintf(a->path, sizeof a->path, "/%s", rest);
	snprintf(a->host, sizeof a->host, "%s:%d", address, port);
	memset(&info, 0, sizeof info);
	info.context = context;
	info.address = address;
	info.port = port;
	info.path = a->path;
	info.host = a->host;
	info.protocol = a->protocols[0] ? a->protocols : NULL;
	info.ietf_version_or_minus_one = -1;
	info.opaque_user_data = a;
	info.pwsi = &a->wsi;
	if (!lws_client_connect_via_info(&info) && !a->done) {
		snprintf(a->detail, sizeof a->detail, "connect failed");
		a->done = 1;
	}
}

int
main(void)
{
	const char *setting = getenv("WSACCEPT_DRIVER_TIMEOUT");
	double timeout = setting && atof(setting) > 0 ? atof(setting) : 3;
	struct lws_context_creation_info info;
	struct attempt *attempts = NULL;
	size_t count = 0, capacity = 0, next = 0, finished = 0;
	char line[4096];

	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (count == capacity) {
			capacity = capacity ? 2 * capacity : 64;
			attempts = realloc(attempts, capacity * sizeof *attempts);
			if (!attempts)
				return 1;
		}
		memset(&attempts[count], 0, sizeof *attempts);
		snprintf(attempts[count++].url, sizeof attempts->url, "%s", line);
	}

	lws_set_log_level(0, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.timeout_secs = (unsigned int)timeout + 1;
	info.connect_timeout_secs = (unsigned int)timeout + 1;
	info.gid = -1;
	info.uid = -1;
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "libwebsockets: cannot create a context\n");
		return 1;
	}
	ticked(&tick);

	while (finished < count) {
		size_t active = 0;
		for (size_t i = 0; i < next; i++)
			active += !attempts[i].reported;
		while (next < count && active < CONCURRENCY) {
			start(&attempts[next++], timeout);
			active++;
		}
		lws_service(context, 0);
		for (size_t i = 0; i < next; i++) {
			struct attempt *a = &attempts[i];
			if (a->reported)
				continue;
			if (!a->done && now() > a->deadline) {
				snprintf(a->detail, sizeof a->detail, "no open within the timeout");
				if (a->wsi)
					lws_set_timeout(a->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
				a->done = 1;
			}
			if (a->done && (!a->opened || !a->wsi)) {
				report(a);
				finished++;
			}
		}
	}
	/* let the last Close frames go */
	for (double end = now() + 0.1; now() < end;)
		lws_service(context, 0);
	lws_context_destroy(context);
	free(attempts);
	return 0;
}
