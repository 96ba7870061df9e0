/*
 * Unit tests of the cross-thread fill registry (src/edge/fillshare.c):
 * who owns a key, what a waiter sees and in which order, that wakes are
 * coalesced and that leaving with a wake queued frees on that wake. The
 * proxy's use of it is tested end to end in tests/integration/edge_cache.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/loop.h"
#include "edge/fillshare.h"

#define KEY(s) ((hs_str_t){(s), sizeof(s) - 1})

static void stop_loop(void *arg)
{
    hs_loop_stop(arg);
}

/* Runs what is posted to loop so far, then returns. */
static void drain(hs_loop_t *loop)
{
    assert_int_equal(hs_loop_post(loop, stop_loop, loop), 0);
    assert_int_equal(hs_loop_run(loop), 0);
}

static void count_wake(void *arg)
{
    (*(int *)arg)++;
}

static void test_owner_and_waiters(void **state)
{
    (void)state;
    hs_loop_t *loop = hs_loop_new();
    int ns1, ns2;
    unsigned base = hs_edge_flight_listed();
    hs_edge_flight_t *own, *f, *other;
    hs_edge_flight_waiter_t *w, *w2;
    assert_int_equal(hs_edge_flight_acquire(&ns1, KEY("h /a"), 7, loop, &own, &w), 0);
    assert_non_null(own);
    assert_null(w);
    assert_int_equal(hs_edge_flight_listed(), base + 1);
    /* the same key in the same cache: a waiter on the owner's flight */
    assert_int_equal(hs_edge_flight_acquire(&ns1, KEY("h /a"), 7, loop, &f, &w), 0);
    assert_ptr_equal(f, own);
    assert_non_null(w);
    /* another cache, or another key with the same hash: its own flight */
    assert_int_equal(hs_edge_flight_acquire(&ns2, KEY("h /a"), 7, loop, &other, &w2), 0);
    assert_ptr_not_equal(other, own);
    assert_null(w2);
    hs_edge_flight_end(other, 0);
    assert_int_equal(hs_edge_flight_acquire(&ns1, KEY("h /b"), 7, loop, &other, &w2), 0);
    assert_ptr_not_equal(other, own);
    assert_null(w2);
    hs_edge_flight_end(other, 0);
    /* unlisted: the next miss starts a new flight */
    hs_edge_flight_unlist(own);
    assert_int_equal(hs_edge_flight_acquire(&ns1, KEY("h /a"), 7, loop, &other, &w2), 0);
    assert_ptr_not_equal(other, own);
    assert_null(w2);
    hs_edge_flight_end(other, 0);
    hs_edge_flight_end(own, HS_ECANCELED);
    hs_edge_flight_view_t v;
    hs_edge_flight_poll(w, &v);
    assert_true(v.ended);
    assert_null(v.head);
    assert_int_equal(v.status, HS_ECANCELED);
    hs_edge_flight_leave(w);
    assert_int_equal(hs_edge_flight_listed(), base);
    drain(loop); /* the end's wake frees the waiter that left */
    hs_loop_free(loop);
}

static void test_head_body_end_in_order(void **state)
{
    (void)state;
    hs_loop_t *loop = hs_loop_new();
    int ns, wakes = 0;
    hs_edge_flight_t *f, *g;
    hs_edge_flight_waiter_t *w, *none;
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /x"), 1, loop, &f, &none), 0);
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /x"), 1, loop, &g, &w), 0);
    hs_edge_flight_waiter_bind(w, count_wake, &wakes);
    char hdr[] = "ETag: \"1\"\r\n";
    hs_edge_flight_head_t h = {.status = 200, .clen = 9, .hdr = KEY(hdr), .vary = KEY("accept"),
                               .sec = KEY("gzip"), .tags = KEY("t1 t2"), .joinable = true};
    assert_int_equal(hs_edge_flight_head(f, &h), 0);
    hdr[0] = 'X'; /* the head was copied */
    assert_int_equal(hs_edge_flight_body(f, "abc", 3), 0);
    assert_int_equal(hs_edge_flight_body(f, "def", 3), 0);
    drain(loop);
    assert_int_equal(wakes, 1); /* one wake until the waiter looks */
    hs_edge_flight_view_t v;
    hs_edge_flight_poll(w, &v);
    assert_non_null(v.head);
    assert_int_equal(v.head->status, 200);
    assert_memory_equal(v.head->hdr.base, "ETag", 4);
    assert_memory_equal(v.head->tags.base, "t1 t2", 5);
    assert_int_equal(v.bytes, 6);
    assert_false(v.ended);
    const char *d;
    size_t n;
    void *ref, *keep;
    assert_true(hs_edge_flight_next(w, &d, &n, &ref));
    assert_memory_equal(d, "abc", 3);
    const char *kept = d;
    keep = ref; /* an output queue still sends it after the flight is gone */
    assert_true(hs_edge_flight_next(w, &d, &n, &ref));
    assert_memory_equal(d, "def", 3);
    hs_edge_flight_chunk_release(ref);
    assert_false(hs_edge_flight_next(w, &d, &n, &ref));
    assert_int_equal(hs_edge_flight_body(f, "ghi", 3), 0);
    hs_edge_flight_end(f, 0);
    drain(loop);
    assert_int_equal(wakes, 2);
    hs_edge_flight_poll(w, &v);
    assert_true(v.ended);
    assert_int_equal(v.status, 0);
    assert_true(hs_edge_flight_next(w, &d, &n, &ref));
    assert_memory_equal(d, "ghi", 3);
    hs_edge_flight_chunk_release(ref);
    assert_false(hs_edge_flight_next(w, &d, &n, &ref));
    hs_edge_flight_leave(w);
    assert_memory_equal(kept, "abc", 3);
    hs_edge_flight_chunk_release(keep);
    hs_loop_free(loop);
}

static void test_not_joinable_head_unlists(void **state)
{
    (void)state;
    hs_loop_t *loop = hs_loop_new();
    int ns;
    hs_edge_flight_t *f, *g;
    hs_edge_flight_waiter_t *w;
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /p"), 3, loop, &f, &w), 0);
    hs_edge_flight_head_t h = {.status = 200, .clen = -1, .pass = true};
    assert_int_equal(hs_edge_flight_head(f, &h), 0);
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /p"), 3, loop, &g, &w), 0);
    assert_ptr_not_equal(g, f);
    assert_null(w);
    hs_edge_flight_end(g, 0);
    hs_edge_flight_end(f, 0);
    hs_loop_free(loop);
}

/* ---- an owner on another thread ---- */

typedef struct owner_arg {
    hs_edge_flight_t *f;
    unsigned chunks;
} owner_arg_t;

static void *owner_main(void *p)
{
    owner_arg_t *a = p;
    hs_edge_flight_head_t h = {.status = 200, .clen = -1, .joinable = true};
    hs_edge_flight_head(a->f, &h);
    for (unsigned i = 0; i < a->chunks; i++) {
        char c[8];
        memcpy(c, &i, sizeof(i));
        memset(c + sizeof(i), (int)(i & 0xff), sizeof(c) - sizeof(i));
        if (hs_edge_flight_body(a->f, c, sizeof(c)) != 0)
            abort();
    }
    hs_edge_flight_end(a->f, 0);
    return NULL;
}

typedef struct reader {
    hs_loop_t *loop;
    hs_edge_flight_waiter_t *w;
    unsigned next;
    bool ok, ended;
} reader_t;

static void reader_wake(void *arg)
{
    reader_t *r = arg;
    hs_edge_flight_view_t v;
    hs_edge_flight_poll(r->w, &v);
    const char *d;
    size_t n;
    void *ref;
    while (hs_edge_flight_next(r->w, &d, &n, &ref)) {
        unsigned i;
        memcpy(&i, d, sizeof(i));
        r->ok = r->ok && n == 8 && i == r->next;
        r->next++;
        hs_edge_flight_chunk_release(ref);
    }
    if (v.ended) {
        r->ended = true;
        hs_edge_flight_leave(r->w);
        hs_loop_stop(r->loop);
    }
}

static void test_owner_on_another_thread(void **state)
{
    (void)state;
    hs_loop_t *loop = hs_loop_new();
    int ns;
    owner_arg_t a = {.chunks = 20000};
    hs_edge_flight_waiter_t *w;
    hs_edge_flight_t *f;
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /t"), 9, loop, &a.f, &w), 0);
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /t"), 9, loop, &f, &w), 0);
    reader_t r = {.loop = loop, .w = w, .ok = true};
    hs_edge_flight_waiter_bind(w, reader_wake, &r);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, owner_main, &a), 0);
    assert_int_equal(hs_loop_run(loop), 0);
    pthread_join(t, NULL);
    assert_true(r.ended);
    assert_true(r.ok);
    assert_int_equal(r.next, a.chunks);
    hs_loop_free(loop);
}

/* Shutdown with a wake queued: the loop stops and is freed without running
 * it (hs_loop_free drops posts), so the waiter that left and its flight
 * reference must be freed by hs_edge_flight_loop_done. LSan checks. */
static void test_loop_done_frees_waiters_with_queued_wakes(void **state)
{
    (void)state;
    hs_loop_t *l1 = hs_loop_new(), *l2 = hs_loop_new();
    int ns;
    hs_edge_flight_t *own, *f;
    hs_edge_flight_waiter_t *w1, *w2, *w3;
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /shut"), 11, l1, &own, &w1), 0);
    assert_null(w1);
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /shut"), 11, l1, &f, &w1), 0);
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /shut"), 11, l2, &f, &w2), 0);
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /shut"), 11, l2, &f, &w3), 0);
    int n1 = 0, n2 = 0;
    hs_edge_flight_waiter_bind(w1, count_wake, &n1);
    hs_edge_flight_waiter_bind(w2, count_wake, &n2);
    hs_edge_flight_waiter_bind(w3, count_wake, &n2);
    hs_edge_flight_head_t h = {.status = 200, .clen = 3, .hdr = KEY("A: b\r\n"), .joinable = true};
    assert_int_equal(hs_edge_flight_head(own, &h), 0); /* a wake queued for each */
    assert_int_equal(hs_edge_flight_body(own, "abc", 3), 0);
    /* the owner's thread ends first: its reference is gone */
    hs_edge_flight_end(own, 0);
    /* nothing to free while every waiter is still waiting */
    assert_int_equal(hs_edge_flight_loop_done(l1), 0);
    /* shutdown of l1: its waiter leaves with its wake queued, the loop never runs again */
    hs_edge_flight_leave(w1);
    assert_int_equal(hs_edge_flight_loop_done(l1), 1);
    assert_int_equal(hs_edge_flight_loop_done(l1), 0);
    hs_loop_free(l1);
    assert_int_equal(n1, 0);
    /* l2 keeps running: its orphan is freed by its own wake, not by l1's end */
    hs_edge_flight_leave(w2);
    drain(l2);
    assert_int_equal(n2, 1); /* w3 was woken, w2 was not */
    assert_int_equal(hs_edge_flight_loop_done(l2), 0);
    /* and a waiter still there at shutdown, wake queued again */
    hs_edge_flight_view_t v;
    hs_edge_flight_poll(w3, &v);
    assert_true(v.ended);
    hs_edge_flight_leave(w3); /* polled: nothing queued, freed at once */
    assert_int_equal(hs_edge_flight_loop_done(l2), 0);
    hs_loop_free(l2);
}

/* Revalidations share a flight only for the same stored version, and
 * never a cold miss's; a 304 head carries its fields and request time. */
static void test_revalidation_keyed_by_version(void **state)
{
    (void)state;
    hs_loop_t *loop = hs_loop_new();
    int ns;
    unsigned base = hs_edge_flight_listed();
    hs_edge_flight_version_t v1 = {KEY("\"e1\""), KEY("Tue, 01 Jul 2025 00:00:00 GMT"),
                                   KEY("gzip")};
    hs_edge_flight_t *cold, *own, *f, *other;
    hs_edge_flight_waiter_t *w, *w2;
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /r"), 5, loop, &cold, &w), 0);
    assert_null(w);
    /* a revalidation does not join the cold miss's flight, nor it the other way */
    assert_int_equal(hs_edge_flight_acquire_reval(&ns, KEY("h /r"), &v1, 5, loop, &own, &w), 0);
    assert_ptr_not_equal(own, cold);
    assert_null(w);
    assert_int_equal(hs_edge_flight_acquire(&ns, KEY("h /r"), 5, loop, &f, &w), 0);
    assert_ptr_equal(f, cold);
    hs_edge_flight_leave(w);
    hs_edge_flight_end(cold, 0);
    /* the same version: shared */
    hs_edge_flight_version_t same = v1;
    assert_int_equal(hs_edge_flight_acquire_reval(&ns, KEY("h /r"), &same, 5, loop, &f, &w), 0);
    assert_ptr_equal(f, own);
    assert_non_null(w);
    /* any part of the version differing, or the bytes split differently:
     * a flight of its own */
    hs_edge_flight_version_t diff[] = {
        {KEY("\"e2\""), v1.last_modified, v1.sec},
        {v1.etag, KEY("Wed, 02 Jul 2025 00:00:00 GMT"), v1.sec},
        {v1.etag, v1.last_modified, KEY("br")},
        {v1.etag, v1.last_modified, HS_STR_NULL},
        {HS_STR_NULL, v1.last_modified, v1.sec},
        {KEY("\"e1\"Tue"), KEY(", 01 Jul 2025 00:00:00 GMT"), v1.sec},
    };
    for (unsigned i = 0; i < sizeof(diff) / sizeof(diff[0]); i++) {
        assert_int_equal(
            hs_edge_flight_acquire_reval(&ns, KEY("h /r"), &diff[i], 5, loop, &other, &w2), 0);
        assert_ptr_not_equal(other, own);
        assert_null(w2);
        hs_edge_flight_end(other, 0);
    }
    /* another key, the same version and hash */
    assert_int_equal(hs_edge_flight_acquire_reval(&ns, KEY("h /s"), &v1, 5, loop, &other, &w2), 0);
    assert_ptr_not_equal(other, own);
    hs_edge_flight_end(other, 0);
    /* the owner's 304 */
    hs_edge_flight_head_t h = {.status = 304, .hdr = KEY("Date: x\r\nCache-Control: max-age=9\r\n"),
                               .request_time = 1234};
    assert_int_equal(hs_edge_flight_head(own, &h), 0);
    hs_edge_flight_end(own, 0);
    hs_edge_flight_view_t v;
    hs_edge_flight_poll(w, &v);
    assert_non_null(v.head);
    assert_true(v.ended);
    assert_int_equal(v.status, 0);
    assert_int_equal(v.head->status, 304);
    assert_int_equal(v.head->request_time, 1234);
    assert_int_equal(v.head->hdr.len, h.hdr.len);
    assert_memory_equal(v.head->hdr.base, h.hdr.base, h.hdr.len);
    hs_edge_flight_leave(w);
    assert_int_equal(hs_edge_flight_listed(), base);
    drain(loop);
    hs_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_and_waiters),
        cmocka_unit_test(test_head_body_end_in_order),
        cmocka_unit_test(test_not_joinable_head_unlists),
        cmocka_unit_test(test_owner_on_another_thread),
        cmocka_unit_test(test_loop_done_frees_waiters_with_queued_wakes),
        cmocka_unit_test(test_revalidation_keyed_by_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
