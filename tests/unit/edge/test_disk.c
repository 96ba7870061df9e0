/*
 * Unit tests of src/edge/disk.c: write-behind, read back, persistence
 * across a restart (a new tier on the same directory), checksum failures,
 * the byte budget, and purges deleting files. A real loop and I/O pool run
 * the jobs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/loop.h"
#include "core/str.h"
#include "core/tpool.h"
#include "edge/disk.h"
#include "edge/mem.h"

static hs_loop_t *loop;
static hs_tpool_t *pool;
static char dir[64];
static hs_timer_t tick;
static bool (*until_fn)(void);
static int ticks;

static void on_tick(hs_loop_t *l, hs_timer_t *t)
{
    if (until_fn() || ++ticks > 1000) {
        hs_loop_stop(l);
        return;
    }
    hs_timer_start(l, t, 5, on_tick);
}

/* Runs the loop until cond() holds (5 s at most); returns cond(). */
static bool run_until(bool (*cond)(void))
{
    until_fn = cond;
    ticks = 0;
    hs_timer_start(loop, &tick, 1, on_tick);
    hs_loop_run(loop);
    return cond();
}

static hs_edge_disk_t *d;
static int ready_calls;
static void on_ready(void *arg)
{
    (void)arg;
    ready_calls++;
}

static bool ready(void)
{
    return hs_edge_disk_ready(d);
}

static uint64_t want_count;
static bool indexed(void)
{
    return hs_edge_mem_count(hs_edge_disk_index(d)) == want_count;
}

static int files(void)
{
    DIR *dd = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (dd && (de = readdir(dd)) != NULL)
        n += strstr(de->d_name, ".hso") != NULL;
    if (dd)
        closedir(dd);
    return n;
}

static bool idle(void)
{
    return hs_edge_disk_pending(d) == 0;
}

static int want_files;
static bool files_are(void)
{
    return files() == want_files;
}

static hs_str_t K(const char *s)
{
    return (hs_str_t){s, strlen(s)};
}

static hs_edge_obj_t *mk(const char *body, const char *hdr)
{
    hs_edge_obj_t *o = hs_edge_obj_new();
    o->status = 200;
    o->size = strlen(body);
    o->body = strdup(body);
    o->hdr = strdup(hdr);
    o->hdr_len = strlen(hdr);
    o->tags = strdup("t1 t2");
    o->tags_len = 5;
    o->meta = (hs_edge_meta_t){1000, 5, 60, -1, 30, 0};
    hs_edge_obj_index(o);
    return o;
}

static hs_edge_obj_t *got;
static bool read_called;
static char got_sec[64];
static size_t got_sec_len;

static void on_read(void *arg, hs_edge_obj_t *o, hs_str_t vary, hs_str_t sec)
{
    (void)arg;
    (void)vary;
    read_called = true;
    got = o;
    if (o)
        hs_edge_obj_ref(o);
    if (sec.len && sec.len <= sizeof(got_sec))
        memcpy(got_sec, sec.base, sec.len);
    got_sec_len = sec.len;
}

static bool was_read(void)
{
    return read_called;
}

static hs_http_msg_t plain;

static hs_edge_obj_t *read_back(const char *key)
{
    hs_edge_obj_t *e = hs_edge_disk_lookup(d, K(key), &plain);
    if (!e)
        return NULL;
    read_called = false;
    got = NULL;
    assert_int_equal(hs_edge_disk_read(d, e, on_read, NULL), 0);
    hs_edge_obj_unref(e);
    assert_true(run_until(was_read));
    return got;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/hs-edge-disk-XXXXXX");
    assert_non_null(mkdtemp(dir));
    loop = hs_loop_new();
    pool = hs_tpool_new(2, 64);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hs_tpool_free(pool);
    hs_loop_free(loop);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_store_read_restart(void **state)
{
    (void)state;
    int err = 0;
    ready_calls = 0;
    d = hs_edge_disk_new(dir, 1 << 20, loop, pool, on_ready, NULL, &err);
    assert_non_null(d);
    assert_true(run_until(ready));
    assert_int_equal(ready_calls, 1);
    hs_edge_obj_t *o = mk("hello disk", "ETag: \"d1\"\r\nContent-Type: text/plain\r\n");
    hs_edge_disk_store(d, K("h /a"), HS_STR_NULL, HS_STR_NULL, o);
    hs_edge_obj_unref(o); /* the write holds its own reference */
    want_count = 1;
    assert_true(run_until(indexed));
    assert_int_equal(files(), 1);

    hs_edge_obj_t *r = read_back("h /a");
    assert_non_null(r);
    assert_int_equal(r->size, 10);
    assert_memory_equal(r->body, "hello disk", 10);
    assert_true(HS_STR_EQ(r->etag, "\"d1\""));
    assert_int_equal(r->meta.lifetime, 60);
    assert_int_equal(r->meta.sie, 30);
    assert_int_equal(r->tags_len, 5);
    hs_edge_obj_unref(r);
    assert_null(read_back("h /b"));

    /* a new tier on the same directory finds it again */
    assert_true(run_until(idle));
    hs_edge_disk_free(d);
    d = hs_edge_disk_new(dir, 1 << 20, loop, pool, on_ready, NULL, &err);
    assert_true(run_until(ready));
    assert_int_equal(hs_edge_mem_count(hs_edge_disk_index(d)), 1);
    r = read_back("h /a");
    assert_non_null(r);
    assert_memory_equal(r->body, "hello disk", 10);
    hs_edge_obj_unref(r);

    /* purging the index deletes the file */
    assert_int_equal(hs_edge_mem_purge(hs_edge_disk_index(d), HS_EDGE_PURGE_TAG, K("t2"), false), 1);
    want_files = 0;
    assert_true(run_until(files_are));
    assert_true(run_until(idle)); /* nothing left on the pool */
    hs_edge_disk_free(d);
}

static void test_vary_and_corruption(void **state)
{
    (void)state;
    int err = 0;
    d = hs_edge_disk_new(dir, 1 << 20, loop, pool, on_ready, NULL, &err);
    assert_true(run_until(ready));
    hs_edge_obj_t *o = mk("gz", "");
    hs_edge_disk_store(d, K("h /v"), K("accept-encoding"), K("accept-encoding:gzip\n"), o);
    hs_edge_obj_unref(o);
    want_count = 1;
    assert_true(run_until(indexed));
    hs_http_header_t hh = {HS_STR_LIT("Accept-Encoding"), HS_STR_LIT("gzip")};
    hs_http_msg_t req = {.headers = &hh, .num_headers = 1};
    hs_edge_obj_t *e = hs_edge_disk_lookup(d, K("h /v"), &req);
    assert_non_null(e);
    hs_edge_obj_unref(e);
    assert_null(hs_edge_disk_lookup(d, K("h /v"), &plain)); /* another variant */

    /* flip the last body byte: the checksum catches it, entry and file go */
    DIR *dd = opendir(dir);
    struct dirent *de;
    char path[400] = "";
    while ((de = readdir(dd)) != NULL)
        if (strstr(de->d_name, ".hso"))
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    closedir(dd);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t end = lseek(fd, 0, SEEK_END);
    assert_int_equal(pwrite(fd, "X", 1, end - 1), 1);
    close(fd);
    e = hs_edge_disk_lookup(d, K("h /v"), &req);
    read_called = false;
    assert_int_equal(hs_edge_disk_read(d, e, on_read, NULL), 0);
    hs_edge_obj_unref(e);
    assert_true(run_until(was_read));
    assert_null(got);
    assert_int_equal(hs_edge_mem_count(hs_edge_disk_index(d)), 0);
    want_files = 0;
    assert_true(run_until(files_are));
    assert_true(run_until(idle)); /* nothing left on the pool */
    hs_edge_disk_free(d);
}

static void test_budget(void **state)
{
    (void)state;
    int err = 0;
    d = hs_edge_disk_new(dir, 8000, loop, pool, on_ready, NULL, &err);
    assert_true(run_until(ready));
    char body[1001];
    memset(body, 'b', 1000);
    body[1000] = '\0';
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof(key), "h /%d", i);
        hs_edge_obj_t *o = mk(body, "");
        hs_edge_disk_store(d, K(key), HS_STR_NULL, HS_STR_NULL, o);
        hs_edge_obj_unref(o);
    }
    /* the writes land, the index evicts, and the evicted files go */
    assert_true(run_until(idle));
    assert_true(hs_edge_mem_bytes(hs_edge_disk_index(d)) <= 8000);
    assert_true(hs_edge_mem_count(hs_edge_disk_index(d)) >= 1);
    assert_true(hs_edge_mem_count(hs_edge_disk_index(d)) < 20);
    want_files = (int)hs_edge_mem_count(hs_edge_disk_index(d));
    assert_true(run_until(files_are));
    /* an object larger than the tier is not written */
    char *huge = malloc(9000);
    memset(huge, 'h', 8999);
    huge[8999] = '\0';
    hs_edge_obj_t *o = mk(huge, "");
    free(huge);
    uint64_t before = hs_edge_mem_count(hs_edge_disk_index(d));
    hs_edge_disk_store(d, K("h /huge"), HS_STR_NULL, HS_STR_NULL, o);
    hs_edge_obj_unref(o);
    assert_int_equal(hs_edge_mem_count(hs_edge_disk_index(d)), before);
    assert_true(run_until(idle)); /* nothing left on the pool */
    hs_edge_disk_free(d);
}

/* The largest object file (readdir order is arbitrary). */
static char *largest_file(void)
{
    static char path[400];
    char p[400];
    off_t best = -1;
    path[0] = '\0';
    DIR *dd = opendir(dir);
    struct dirent *de;
    struct stat st;
    while ((de = readdir(dd)) != NULL) {
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (strstr(de->d_name, ".hso") && stat(p, &st) == 0 && st.st_size > best) {
            best = st.st_size;
            memcpy(path, p, sizeof(path));
        }
    }
    closedir(dd);
    return path;
}

/* The bytes a file-backed object would send: its body range of the file. */
static void assert_file_body(hs_edge_obj_t *o, const char *want, size_t len)
{
    assert_true(o->body_in_file);
    assert_null(o->body);
    assert_int_equal(o->size, len);
    char *got_b = malloc(len);
    assert_int_equal(pread(o->body_fd, got_b, len, (off_t)o->body_off), (ssize_t)len);
    assert_memory_equal(got_b, want, len);
    free(got_b);
}

/* len bytes base, base + 1, ... wrapping every mod, NUL-terminated. */
static char *pattern(size_t len, char base, unsigned mod)
{
    char *p = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        p[i] = (char)(base + i % mod);
    p[len] = '\0';
    return p;
}

static void test_open_on_loop(void **state)
{
    (void)state;
    int err = 0;
    d = hs_edge_disk_new(dir, 1 << 22, loop, pool, on_ready, NULL, &err);
    assert_true(run_until(ready));
    size_t big_len = 100 * 1024;
    char *big = pattern(big_len, 'a', 23);
    hs_edge_obj_t *o = mk(big, "ETag: \"b\"\r\n");
    hs_edge_disk_store(d, K("h /big"), HS_STR_NULL, HS_STR_NULL, o);
    hs_edge_obj_unref(o);
    o = mk("tiny", "");
    hs_edge_disk_store(d, K("h /tiny"), HS_STR_NULL, HS_STR_NULL, o);
    hs_edge_obj_unref(o);
    want_count = 2;
    assert_true(run_until(indexed));

    /* written by this process: opened at once; a large body stays in its
     * file, a small one comes back in memory */
    hs_str_t vary, sec;
    hs_edge_obj_t *e = hs_edge_disk_lookup(d, K("h /big"), &plain);
    assert_non_null(e);
    assert_int_equal(hs_edge_disk_open(d, e, &o, &vary, &sec), 0);
    hs_edge_obj_unref(e);
    assert_file_body(o, big, big_len);
    assert_true(HS_STR_EQ(o->etag, "\"b\""));
    assert_int_equal(o->meta.lifetime, 60);
    /* never in the memory tier: an open file per object is not bounded */
    hs_edge_mem_t *m = hs_edge_mem_new(1 << 22);
    assert_int_equal(hs_edge_mem_insert(m, K("h /big"), vary, sec, o), HS_ENOTSUP);
    hs_edge_mem_free(m);
    hs_edge_obj_unref(o);
    e = hs_edge_disk_lookup(d, K("h /tiny"), &plain);
    assert_int_equal(hs_edge_disk_open(d, e, &o, &vary, &sec), 0);
    hs_edge_obj_unref(e);
    assert_false(o->body_in_file);
    assert_memory_equal(o->body, "tiny", 4);
    hs_edge_obj_unref(o);

    /* after a restart nothing is trusted until read once on the pool */
    assert_true(run_until(idle));
    hs_edge_disk_free(d);
    d = hs_edge_disk_new(dir, 1 << 22, loop, pool, on_ready, NULL, &err);
    assert_true(run_until(ready));
    e = hs_edge_disk_lookup(d, K("h /big"), &plain);
    assert_int_equal(hs_edge_disk_open(d, e, &o, &vary, &sec), HS_EAGAIN);
    assert_null(o);
    hs_edge_obj_unref(e);
    o = read_back("h /big");
    assert_non_null(o);
    assert_file_body(o, big, big_len);
    hs_edge_obj_unref(o);
    e = hs_edge_disk_lookup(d, K("h /big"), &plain);
    assert_int_equal(hs_edge_disk_open(d, e, &o, &vary, &sec), 0);
    assert_file_body(o, big, big_len);

    /* a write to the file after the check (one byte of the body): the next
     * open sends it back to the pool, whose full check drops it. The
     * response already holding the file keeps its descriptor. */
    hs_edge_obj_unref(e);
    int fd = open(largest_file(), O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "#", 1, (off_t)o->body_off + 5000), 1);
    close(fd);
    hs_edge_obj_unref(o);
    e = hs_edge_disk_lookup(d, K("h /big"), &plain);
    assert_int_equal(hs_edge_disk_open(d, e, &o, &vary, &sec), HS_EAGAIN);
    hs_edge_obj_unref(e);
    assert_null(read_back("h /big"));
    assert_null(hs_edge_disk_lookup(d, K("h /big"), &plain));

    /* a file gone behind the index's back: the open reports it, the entry goes */
    e = hs_edge_disk_lookup(d, K("h /tiny"), &plain);
    assert_non_null(e);
    assert_true(run_until(idle));
    assert_int_equal(unlink(largest_file()), 0);
    e->file_ok = true; /* as if checked before: the open is tried on the loop */
    assert_int_equal(hs_edge_disk_open(d, e, &o, &vary, &sec), HS_ENOENT);
    hs_edge_obj_unref(e);
    assert_int_equal(hs_edge_mem_count(hs_edge_disk_index(d)), 0);
    free(big);
    assert_true(run_until(idle));
    hs_edge_disk_free(d);
}

/* A 304 merged into an object sent from its file: the entry is fresh at
 * once, and the file is replaced by one with the new header block and
 * freshness that a restart finds (the body is the same, checked). */
static void test_refresh_after_304(void **state)
{
    (void)state;
    int err = 0;
    d = hs_edge_disk_new(dir, 1 << 22, loop, pool, on_ready, NULL, &err);
    assert_true(run_until(ready));
    size_t big_len = 100 * 1024;
    char *big = pattern(big_len, 'A', 29);
    hs_edge_obj_t *o = mk(big, "ETag: \"r\"\r\nX-V: 1\r\n");
    o->meta.lifetime = 1;
    hs_edge_disk_store(d, K("h /r"), HS_STR_NULL, HS_STR_NULL, o);
    hs_edge_obj_unref(o);
    want_count = 1;
    assert_true(run_until(indexed));
    hs_str_t vary, sec;
    hs_edge_obj_t *e = hs_edge_disk_lookup(d, K("h /r"), &plain);
    assert_int_equal(hs_edge_disk_open(d, e, &o, &vary, &sec), 0);
    hs_edge_obj_unref(e);
    assert_true(o->body_in_file);
    /* what merge_304 does to it */
    free(o->hdr);
    o->hdr = strdup("ETag: \"r\"\r\nX-V: 2\r\nCache-Control: max-age=600\r\n");
    o->hdr_len = strlen(o->hdr);
    o->meta.lifetime = 600;
    o->meta.response_time = 2000;
    hs_edge_disk_refresh(d, K("h /r"), &plain, o);
    hs_edge_disk_refresh(d, K("h /none"), &plain, o); /* no entry: nothing */
    hs_edge_obj_unref(o);
    e = hs_edge_disk_lookup(d, K("h /r"), &plain);
    assert_int_equal(e->meta.lifetime, 600); /* at once */
    hs_edge_obj_unref(e);
    assert_true(run_until(idle));
    want_files = 1;
    assert_true(run_until(files_are)); /* the old file is gone */
    assert_int_equal(hs_edge_mem_count(hs_edge_disk_index(d)), 1);
    e = hs_edge_disk_lookup(d, K("h /r"), &plain);
    assert_int_equal(hs_edge_disk_open(d, e, &o, &vary, &sec), 0); /* checked as written */
    hs_edge_obj_unref(e);
    assert_file_body(o, big, big_len);
    assert_true(HS_STR_EQ(o->etag, "\"r\""));
    assert_non_null(memmem(o->hdr, o->hdr_len, "X-V: 2", 6));
    hs_edge_obj_unref(o);

    /* a restart reads the new freshness and headers; the body checks whole */
    hs_edge_disk_free(d);
    d = hs_edge_disk_new(dir, 1 << 22, loop, pool, on_ready, NULL, &err);
    assert_true(run_until(ready));
    o = read_back("h /r");
    assert_non_null(o);
    assert_int_equal(o->meta.lifetime, 600);
    assert_int_equal(o->meta.response_time, 2000);
    assert_int_equal(o->tags_len, 5);
    assert_non_null(memmem(o->hdr, o->hdr_len, "max-age=600", 11));
    assert_file_body(o, big, big_len);

    /* a purge while the copy is written drops the copy */
    hs_edge_disk_refresh(d, K("h /r"), &plain, o);
    hs_edge_obj_unref(o);
    assert_int_equal(hs_edge_disk_purge(d, HS_EDGE_PURGE_URL, K("h /r"), false), 1);
    assert_true(run_until(idle));
    want_files = 0;
    assert_true(run_until(files_are));
    assert_int_equal(hs_edge_mem_count(hs_edge_disk_index(d)), 0);
    free(big);
    hs_edge_disk_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_read_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vary_and_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_on_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_after_304, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
