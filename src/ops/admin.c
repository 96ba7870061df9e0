/* Admin endpoint handlers. */
#include "ops/admin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/listeners.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/str.h"
#include "core/supervisor.h"
#include "http/server.h"

typedef struct admin {
    hs_http_handler_t h;
    hs_http_server_t *srv;
    const hs_admin_opts_t *opts;
} admin_t;

static void free_buf(void *p)
{
    free(p);
}

/* JSON documents other modules serve here (hs_admin_hook). */
#define MAX_HOOKS 8
static struct hook {
    char path[64];
    int (*fn)(void *arg, hs_buf_t *out);
    void (*afn)(void *arg, const hs_admin_req_t *req); /* async hooks */
    void *arg;
} hooks[MAX_HOOKS];
static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;

static int add_hook(const char *path, int (*fn)(void *arg, hs_buf_t *out),
                    void (*afn)(void *arg, const hs_admin_req_t *req), void *arg)
{
    int rc = HS_ELIMIT;
    if (strlen(path) >= sizeof(hooks[0].path))
        return HS_EINVAL;
    pthread_mutex_lock(&hooks_lock);
    for (int i = 0; i < MAX_HOOKS; i++)
        if ((hooks[i].fn || hooks[i].afn) && strcmp(hooks[i].path, path) == 0)
            rc = HS_EEXIST;
    for (int i = 0; rc == HS_ELIMIT && i < MAX_HOOKS; i++)
        if (!hooks[i].fn && !hooks[i].afn) {
            snprintf(hooks[i].path, sizeof(hooks[i].path), "%s", path);
            hooks[i].fn = fn;
            hooks[i].afn = afn;
            hooks[i].arg = arg;
            rc = 0;
        }
    pthread_mutex_unlock(&hooks_lock);
    return rc;
}

int hs_admin_hook(const char *path, int (*fn)(void *arg, hs_buf_t *out), void *arg)
{
    return add_hook(path, fn, NULL, arg);
}

int hs_admin_hook_async(const char *path, void (*fn)(void *arg, const hs_admin_req_t *req),
                        void *arg)
{
    return add_hook(path, NULL, fn, arg);
}

void hs_admin_unhook(const char *path)
{
    pthread_mutex_lock(&hooks_lock);
    for (int i = 0; i < MAX_HOOKS; i++)
        if ((hooks[i].fn || hooks[i].afn) && strcmp(hooks[i].path, path) == 0) {
            hooks[i].fn = NULL;
            hooks[i].afn = NULL;
        }
    pthread_mutex_unlock(&hooks_lock);
}

struct hs_admin_call {
    hs_http_req_t *req; /* NULL once the client went away */
};

void hs_admin_done(hs_admin_call_t *call, int status, const char *body, size_t len)
{
    hs_http_req_t *req = call->req;
    free(call);
    if (!req)
        return;
    req->data = NULL;
    if (status >= 400 && len == 0) {
        hs_http_respond_text(req, status, NULL);
        return;
    }
    hs_http_resp_start(req, status, (int64_t)len);
    HS_HTTP_HEADER_LIT(req, "Content-Type", "application/json");
    HS_HTTP_HEADER_LIT(req, "Cache-Control", "no-store");
    hs_http_resp_body(req, body, len);
    hs_http_resp_end(req);
}

/* Hands req to an async hook for its path; false if there is none. */
static bool serve_async(hs_http_req_t *req, hs_str_t path)
{
    int found = 0; /* 1: handed over, -1: out of memory */
    pthread_mutex_lock(&hooks_lock); /* held while fn runs: unhook waits for it */
    for (int i = 0; !found && i < MAX_HOOKS; i++)
        if (hooks[i].afn && strlen(hooks[i].path) == path.len &&
            memcmp(hooks[i].path, path.base, path.len) == 0) {
            hs_admin_call_t *call = malloc(sizeof(*call));
            found = call ? 1 : -1;
            if (!call)
                break;
            call->req = req;
            req->data = call;
            hs_admin_req_t view = {.msg = &req->msg, .loop = req->loop, .call = call};
            hooks[i].afn(hooks[i].arg, &view); /* req may be ended (and gone) already */
        }
    pthread_mutex_unlock(&hooks_lock);
    if (found < 0)
        hs_http_respond_text(req, 503, "out of memory");
    return found != 0;
}

/* Answers req from a hook for its path; false if there is none. */
static bool serve_hook(hs_http_req_t *req, hs_str_t path)
{
    hs_buf_t b = HS_BUF_INIT;
    int rc = 1;
    pthread_mutex_lock(&hooks_lock); /* held while fn runs: unhook waits for it */
    for (int i = 0; rc == 1 && i < MAX_HOOKS; i++)
        if (hooks[i].fn && strlen(hooks[i].path) == path.len &&
            memcmp(hooks[i].path, path.base, path.len) == 0)
            rc = hooks[i].fn(hooks[i].arg, &b);
    pthread_mutex_unlock(&hooks_lock);
    if (rc == 1)
        return false;
    if (rc != 0) {
        hs_buf_free(&b);
        hs_http_respond_text(req, 500, "state unavailable");
        return true;
    }
    hs_http_resp_start(req, 200, (int64_t)hs_buf_len(&b));
    HS_HTTP_HEADER_LIT(req, "Content-Type", "application/json");
    HS_HTTP_HEADER_LIT(req, "Cache-Control", "no-store");
    hs_http_resp_body(req, hs_buf_data(&b), hs_buf_len(&b));
    hs_http_resp_end(req);
    hs_buf_free(&b);
    return true;
}

static void on_request(hs_http_handler_t *self, hs_http_req_t *req)
{
    admin_t *a = (admin_t *)self;
    hs_str_t path = req->msg.path;
    req->data = NULL;
    if (serve_async(req, path))
        return;
    if (req->msg.method != HS_HTTP_GET && req->msg.method != HS_HTTP_HEAD) {
        hs_http_resp_start(req, 405, 0);
        HS_HTTP_HEADER_LIT(req, "Allow", "GET, HEAD");
        hs_http_resp_end(req);
        return;
    }
    if (HS_STR_EQ(path, "/healthz")) {
        hs_http_resp_start(req, 200, 3);
        HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain");
        HS_HTTP_HEADER_LIT(req, "Cache-Control", "no-store");
        hs_http_resp_body(req, "ok\n", 3);
        hs_http_resp_end(req);
        return;
    }
    if (HS_STR_EQ(path, "/metrics")) {
        char *text;
        size_t len;
        if (hs_metrics_render(&text, &len) != 0) {
            hs_http_respond_text(req, 500, "out of memory");
            return;
        }
        hs_http_resp_start(req, 200, (int64_t)len);
        HS_HTTP_HEADER_LIT(req, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        HS_HTTP_HEADER_LIT(req, "Cache-Control", "no-store");
        hs_http_resp_body_ref(req, text, len, free_buf, text);
        hs_http_resp_end(req);
        return;
    }
    if (HS_STR_EQ(path, "/admin/status")) {
        char body[512];
        int n = snprintf(body, sizeof(body),
                         "{\"version\":\"%s\",\"role\":\"%s\",\"pid\":%d,\"supervisor_pid\":%d,"
                         "\"generation\":%u,\"uptime_s\":%lld}\n",
                         "0.1.0", a->opts->role ? a->opts->role : "", (int)getpid(),
                         (int)hs_supervisor_pid, hs_worker_generation,
                         (long long)(time(NULL) - hs_workers_started_at));
        hs_http_resp_start(req, 200, n);
        HS_HTTP_HEADER_LIT(req, "Content-Type", "application/json");
        HS_HTTP_HEADER_LIT(req, "Cache-Control", "no-store");
        hs_http_resp_body(req, body, (size_t)n);
        hs_http_resp_end(req);
        return;
    }
    if (serve_hook(req, path))
        return;
    hs_http_respond_text(req, 404, "try /healthz, /metrics or /admin/status");
}

/* An async hook's call outlives its client: its answer will be dropped. */
static void on_abort(hs_http_handler_t *self, hs_http_req_t *req)
{
    (void)self;
    hs_admin_call_t *call = req->data;
    if (!call)
        return;
    call->req = NULL;
    req->data = NULL;
    hs_http_respond_text(req, 503, "client went away");
}

static int start(void *arg, hs_loop_t *loop, unsigned index, void **state)
{
    const hs_admin_opts_t *o = arg;
    *state = NULL;
    if (index != 0 || !o || !o->listen || !o->listen[0])
        return 0;
    admin_t *a = calloc(1, sizeof(*a));
    if (!a)
        return HS_ENOMEM;
    a->h.on_request = on_request;
    a->h.on_abort = on_abort;
    a->opts = o;
    hs_http_server_opts_t so = {
        .listen = o->listen,
        .handler = &a->h,
        .header_timeout_ms = 10000,
        .body_timeout_ms = 10000,
        .idle_timeout_ms = 60000,
        .send_timeout_ms = 30000,
        .max_connections = 256,
        .listen_fd = hs_listeners_fd(o->listen, 0),
    };
    int rc = hs_http_server_start(loop, &so, &a->srv);
    if (rc != 0) {
        hs_log_error("listen_failed", "what=admin addr=%s err=\"%s\"", o->listen, hs_strerror(rc));
        free(a);
        return rc;
    }
    hs_log_info("listen", "what=admin addr=%s", o->listen);
    *state = a;
    return 0;
}

static void drain(void *state, void (*done)(void *), void *arg)
{
    admin_t *a = state;
    if (!a) {
        done(arg);
        return;
    }
    hs_http_server_drain(a->srv, done, arg);
}

static void close_all(void *state)
{
    admin_t *a = state;
    if (a)
        hs_http_server_close_all(a->srv);
}

static void role_free(void *state)
{
    admin_t *a = state;
    if (!a)
        return;
    hs_http_server_free(a->srv);
    free(a);
}

const hs_role_t hs_admin_role = {
    .name = "admin",
    .start = start,
    .drain = drain,
    .close_all = close_all,
    .free = role_free,
};
