/*
 * libwebsockets' client against URLs read one per line on stdin, the driver contract of
 * tests/clients/__init__.py: one JSON line per URL, "opened" on LWS_CALLBACK_CLIENT_ESTABLISHED
 * (then a text frame and a Close), else the reason LWS_CALLBACK_CLIENT_CONNECTION_ERROR gave.
 * The library's defaults: no extension offered (the context has no `extensions` table);
 * "?protocol=NAME" in the URL offers that subprotocol. Compiled once per test session:
 *   cc -o driver driver.c $(pkg-config --cflags --libs libwebsockets)
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct attempt {
	int done, opened, sent;
	char detail[512];
};

static struct attempt current;
static struct lws_context *ticking;
static lws_sorted_usec_list_t tick;

/* lws_service() ignores its timeout: a timer every 20 ms bounds each wait for an event. */
static void
ticked(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(ticking, 0, sul, ticked, 20 * LWS_US_PER_MS);
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	unsigned char frame[LWS_PRE + 5];

	(void)user;
	(void)len;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		snprintf(current.detail, sizeof current.detail, "%s",
			 in ? (const char *)in : "connection error");
		current.done = 1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		current.opened = 1;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (current.sent)
			break;
		memcpy(frame + LWS_PRE, "hello", 5);
		lws_write(wsi, frame + LWS_PRE, 5, LWS_WRITE_TEXT);
		current.sent = 1;
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		current.done = 1;
		return -1;
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		if (!current.opened && !current.detail[0])
			snprintf(current.detail, sizeof current.detail, "closed before open");
		current.done = 1;
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

/* The subprotocols of "?protocol=a&protocol=b" (or "?protocol=a,b"), comma-separated. */
static void
offered(const char *url, char *out, size_t size)
{
	const char *p = strchr(url, '?');
	size_t used = 0;

	out[0] = '\0';
	while (p) {
		p++;
		if (!strncmp(p, "protocol=", 9)) {
			const char *value = p + 9, *end = strchr(value, '&');
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

static struct lws_context *
new_context(double timeout)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.timeout_secs = (unsigned int)timeout + 1;
	info.connect_timeout_secs = (unsigned int)timeout + 1;
	info.gid = -1;
	info.uid = -1;
	ticking = lws_create_context(&info);
	if (ticking) {
		memset(&tick, 0, sizeof tick);
		ticked(&tick);
	}
	return ticking;
}

static void
one(struct lws_context **context, const char *url, double timeout)
{
	struct lws_client_connect_info info;
	char copy[4096], path[4096], host[300], subprotocols[1024];
	const char *scheme, *address, *rest;
	int port;
	double deadline = now() + timeout;

	memset(&current, 0, sizeof current);
	snprintf(copy, sizeof copy, "%s", url);
	if (lws_parse_uri(copy, &scheme, &address, &port, &rest)) {
		snprintf(current.detail, sizeof current.detail, "cannot parse the URL");
	} else {
		offered(url, subprotocols, sizeof subprotocols);
		snprintf(path, sizeof path, "/%s", rest);
		snprintf(host, sizeof host, "%s:%d", address, port);
		memset(&info, 0, sizeof info);
		info.context = *context;
		info.address = address;
		info.port = port;
		info.path = path;
		info.host = host;
		info.protocol = subprotocols[0] ? subprotocols : NULL;
		info.ietf_version_or_minus_one = -1;
		if (!lws_client_connect_via_info(&info) && !current.done)
			snprintf(current.detail, sizeof current.detail, "connect failed");
		else
			while (!current.done && now() < deadline)
				lws_service(*context, 0);
		if (!current.done) {
			snprintf(current.detail, sizeof current.detail, "no open within the timeout");
			/* what is still connecting goes with its context */
			lws_context_destroy(*context);
			*context = new_context(timeout);
		} else if (current.opened) {
			for (double end = now() + 0.1; now() < end;)
				lws_service(*context, 0);
		}
	}
	printf("{\"url\": ");
	json_string(url);
	printf(", \"opened\": %s, \"detail\": ", current.opened ? "true" : "false");
	json_string(current.opened ? "" : current.detail);
	printf("}\n");
	fflush(stdout);
}

int
main(void)
{
	const char *setting = getenv("WSACCEPT_DRIVER_TIMEOUT");
	double timeout = setting && atof(setting) > 0 ? atof(setting) : 3;
	char line[4096];
	struct lws_context *context;

	lws_set_log_level(0, NULL);
	context = new_context(timeout);
	if (!context) {
		fprintf(stderr, "libwebsockets: cannot create a context\n");
		return 1;
	}
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0])
			one(&context, line, timeout);
	}
	lws_context_destroy(context);
	return 0;
}
