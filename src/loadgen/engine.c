/* Open- and closed-loop dispatch (see engine.h). */
#include "loadgen/engine.h"

#include <assert.h>
#include <math.h>

/* A closed loop whose sends fail at once would spin; it retries after this. */
#define CLOSED_RETRY_NS 1000000ull

void hs_lg_engine_init_open(hs_lg_engine_t *e, double rate, unsigned threads, unsigned index,
                            uint64_t start_ns, uint64_t end_ns, unsigned slots, hs_lg_send_fn send,
                            void *ctx)
{
    assert(rate > 0 && threads > 0 && index < threads && slots > 0);
    *e = (hs_lg_engine_t){
        .closed = false,
        .slots = slots,
        .start_ns = start_ns,
        .end_ns = end_ns,
        .rate = rate,
        .stride = threads,
        .offset = index,
        .send = send,
        .ctx = ctx,
    };
}

void hs_lg_engine_init_closed(hs_lg_engine_t *e, uint64_t start_ns, uint64_t end_ns, uint64_t limit,
                              unsigned slots, hs_lg_send_fn send, void *ctx)
{
    assert(slots > 0);
    *e = (hs_lg_engine_t){
        .closed = true,
        .slots = slots,
        .start_ns = start_ns,
        .end_ns = end_ns,
        .limit = limit,
        .send = send,
        .ctx = ctx,
    };
}

uint64_t hs_lg_engine_intended(const hs_lg_engine_t *e, uint64_t i)
{
    double slot = (double)i * e->stride + e->offset;
    return e->start_ns + (uint64_t)llround(slot * 1e9 / e->rate);
}

/* Open-loop requests intended before min(now + 1 ns, end): the due count. */
static uint64_t due_count(const hs_lg_engine_t *e, uint64_t now)
{
    uint64_t t = now < e->end_ns ? now : e->end_ns - 1;
    if (e->end_ns == 0 || t < e->start_ns) return 0;
    double slots = (double)(t - e->start_ns) * e->rate / 1e9;
    if (slots < e->offset) return 0;
    uint64_t n = (uint64_t)floor((slots - e->offset) / e->stride) + 1;
    /* the float estimate may be one off at a boundary: settle it exactly */
    while (n > 0 && hs_lg_engine_intended(e, n - 1) > t)
        n--;
    while (hs_lg_engine_intended(e, n) <= t)
        n++;
    return n;
}

uint64_t hs_lg_engine_backlog(const hs_lg_engine_t *e, uint64_t now)
{
    if (e->closed) return 0;
    uint64_t due = due_count(e, now);
    return due > e->next ? due - e->next : 0;
}

static uint64_t pump_closed(hs_lg_engine_t *e, uint64_t now)
{
    while (e->inflight < e->slots && now < e->end_ns && (e->limit == 0 || e->next < e->limit)) {
        e->next++;
        if (e->send(e->ctx, now) < 0) return now + CLOSED_RETRY_NS;
        e->inflight++;
    }
    return UINT64_MAX;
}

uint64_t hs_lg_engine_pump(hs_lg_engine_t *e, uint64_t now)
{
    if (e->closed) return pump_closed(e, now);
    while (1) {
        uint64_t t = hs_lg_engine_intended(e, e->next);
        if (t >= e->end_ns) return UINT64_MAX;
        if (t > now) return t;
        if (e->inflight == e->slots) {
            uint64_t b = hs_lg_engine_backlog(e, now);
            if (b > e->max_backlog) e->max_backlog = b;
            return UINT64_MAX;
        }
        e->next++;
        if (e->send(e->ctx, t) == 0) e->inflight++;
    }
}

void hs_lg_engine_done(hs_lg_engine_t *e)
{
    assert(e->inflight > 0);
    e->inflight--;
}

bool hs_lg_engine_finished(const hs_lg_engine_t *e, uint64_t now)
{
    if (e->inflight > 0) return false;
    if (e->closed) return now >= e->end_ns || (e->limit != 0 && e->next >= e->limit);
    return hs_lg_engine_intended(e, e->next) >= e->end_ns;
}

void hs_lg_engine_stop(hs_lg_engine_t *e, uint64_t now)
{
    if (now < e->end_ns) e->end_ns = now > e->start_ns ? now : e->start_ns;
}
