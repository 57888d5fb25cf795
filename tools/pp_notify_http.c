/*
 * pp_notify_http: see pp_notify_http.h.
 */
#include "pp_notify_http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct pp_notify_http {
    CURL *curl;     /* the easy handle, reused (keeps the connection) */
    int timeout_ms; /* per request */
    char *buf;      /* response body being received */
    size_t len;     /* bytes in buf */
    size_t keep;    /* most bytes to keep in buf this request */
    bool too_big;   /* the body went past keep */
};

pp_notify_http_t *pp_notify_http_new(int timeout_ms)
{
    pp_notify_http_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        free(h);
        return NULL;
    }
    h->timeout_ms = timeout_ms;
    return h;
}

void pp_notify_http_free(pp_notify_http_t *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    free(h->buf);
    free(h);
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    pp_notify_http_t *h = user;
    size_t bytes = size * n, take = bytes;
    if (h->len + take > h->keep) {
        take = h->keep - h->len;
        h->too_big = true;
    }
    if (take > 0) {
        char *b = realloc(h->buf, h->len + take + 1);
        if (b == NULL)
            return 0; /* curl reports a write error */
        h->buf = b;
        memcpy(h->buf + h->len, data, take);
        h->len += take;
        h->buf[h->len] = '\0';
    }
    return bytes;
}

/* Common options, the request itself, and the status or error. */
static int perform(pp_notify_http_t *h, const char *url, struct curl_slist *hdrs, size_t keep, char *err,
                   size_t err_len)
{
    CURL *c = h->curl;
    free(h->buf);
    h->buf = NULL;
    h->len = 0;
    h->keep = keep;
    h->too_big = false;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "partnerpulse-notify/" PP_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        /* curl_easy_strerror names the failure, never the URL */
        snprintf(err, err_len, "%s", curl_easy_strerror(cc));
        return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
               : cc == CURLE_COULDNT_CONNECT  ? -ECONNREFUSED
                                              : -EIO;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        size_t o = 0;
        for (size_t i = 0; i < h->len && o + 1 < err_len && o < 200; i++)
            err[o++] = h->buf[i] >= 0x20 && h->buf[i] < 0x7f && h->buf[i] != '"' ? h->buf[i] : ' ';
        if (err_len > 0)
            err[o < err_len ? o : err_len - 1] = '\0';
    }
    return (int)status;
}

int pp_notify_http_post(pp_notify_http_t *h, const char *url, const char *const *headers, const char *body,
                        size_t len, long *retry_after_s, char *err, size_t err_len)
{
    struct curl_slist *hdrs = NULL, *t;
    int rc = -EIO;
    if (retry_after_s)
        *retry_after_s = 0;
    snprintf(err, err_len, "out of memory");
    if ((t = curl_slist_append(hdrs, "Content-Type: application/json")) == NULL)
        goto out;
    hdrs = t;
    if ((t = curl_slist_append(hdrs, "Expect:")) == NULL) /* no 100-continue round trip */
        goto out;
    hdrs = t;
    for (size_t i = 0; headers && headers[i]; i++) {
        if ((t = curl_slist_append(hdrs, headers[i])) == NULL)
            goto out;
        hdrs = t;
    }
    err[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 0L);
    curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    rc = perform(h, url, hdrs, 512, err, err_len);
#if LIBCURL_VERSION_NUM >= 0x074200
    if (rc > 0 && retry_after_s) {
        curl_off_t ra = 0;
        if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            *retry_after_s = (long)ra;
    }
#endif
out:
    curl_slist_free_all(hdrs);
    return rc;
}

int pp_notify_http_get(pp_notify_http_t *h, const char *url, char **ret_body, char *err, size_t err_len)
{
    err[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_POST, 0L);
    curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    int rc = perform(h, url, NULL, PP_NOTIFY_HTTP_BODY_MAX, err, err_len);
    if (rc >= 200 && rc <= 299) {
        if (h->too_big) {
            snprintf(err, err_len, "answer larger than %d bytes", PP_NOTIFY_HTTP_BODY_MAX);
            return -EMSGSIZE;
        }
        *ret_body = h->buf ? h->buf : calloc(1, 1);
        h->buf = NULL;
        if (*ret_body == NULL)
            return -ENOMEM;
    }
    return rc;
}
