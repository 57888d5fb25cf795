/*
 * pp_notify_http: one HTTP client for one destination of `partnerpulse
 * notify`, over libcurl's easy interface (one handle per destination thread,
 * so its connection is kept alive between deliveries). Not thread-safe: one
 * thread per handle. Logs nothing; error sentences never contain the URL
 * (a Slack webhook URL is a secret).
 */
#ifndef PP_NOTIFY_HTTP_H
#define PP_NOTIFY_HTTP_H

#include <stddef.h>

#define PP_NOTIFY_HTTP_BODY_MAX (4 << 20) /* largest response body kept (GET) */

typedef struct pp_notify_http pp_notify_http_t;

/* A client whose requests take at most timeout_ms each, connect included;
 * NULL when out of memory. curl_global_init() must have run. */
pp_notify_http_t *pp_notify_http_new(int timeout_ms);

/* NULL-safe. */
void pp_notify_http_free(pp_notify_http_t *h);

/*
 * POST body (len bytes, Content-Type: application/json) to url with the
 * extra headers (NULL-terminated "Name: value" strings, or NULL). No
 * redirects are followed. Returns the HTTP status (100..599), or a negative
 * error (-ETIMEDOUT, -ECONNREFUSED, -EIO) with a sentence in err (OUT).
 * *retry_after_s (OUT, may be NULL) gets the Retry-After of the answer in
 * seconds, 0 if none. On a non-2xx status err holds the start of the
 * response body, cleaned to printable ASCII.
 */
int pp_notify_http_post(pp_notify_http_t *h, const char *url, const char *const *headers, const char *body,
                        size_t len, long *retry_after_s, char *err, size_t err_len);

/*
 * GET url. Returns the HTTP status or a negative error as above; on 2xx
 * *ret_body (OUT) is the NUL-terminated body (at most
 * PP_NOTIFY_HTTP_BODY_MAX bytes, else -EMSGSIZE), owned by the caller
 * (free()).
 */
int pp_notify_http_get(pp_notify_http_t *h, const char *url, char **ret_body, char *err, size_t err_len);

#endif
