/* The Date header value, formatted once per second per thread. */
#include <stdio.h>
#include <time.h>

#include "core/loop.h"
#include "http/server.h"

static _Thread_local int64_t cached_sec = -1;
static _Thread_local char cached[40];

const char *hs_http_date_now(hs_loop_t *loop)
{
    int64_t now = hs_loop_wall(loop);
    if (now != cached_sec) {
        struct tm tm;
        time_t t = (time_t)now;
        gmtime_r(&t, &tm);
        strftime(cached, sizeof(cached), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_sec = now;
    }
    return cached;
}
