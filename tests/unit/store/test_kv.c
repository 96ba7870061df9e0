/* Unit tests of the role-store interface over the embedded LMDB engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "store/kv.h"
#include "tmpdir.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    return tmp_make(dir, sizeof(dir), "kv") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tmp_rm(dir);
    return 0;
}

static void test_unknown_engine(void **state)
{
    (void)state;
    hs_kv_t *kv;
    assert_int_equal(hs_kv_open("nope", dir, NULL, &kv), HS_ENOENT);
    assert_non_null(hs_kv_engine("lmdb"));
}

static void test_point_ops_and_reopen(void **state)
{
    (void)state;
    hs_kv_t *kv;
    void *v;
    size_t vl;
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &kv), 0);
    assert_int_equal(hs_kv_put1(kv, "a", 1, "one", 3), 0);
    assert_int_equal(hs_kv_put1(kv, "b", 1, "", 0), 0);
    assert_int_equal(hs_kv_get1(kv, "a", 1, &v, &vl), 0);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "one", 3);
    free(v);
    assert_int_equal(hs_kv_get1(kv, "b", 1, &v, &vl), 0);
    assert_int_equal(vl, 0);
    free(v);
    assert_int_equal(hs_kv_get1(kv, "zz", 2, &v, &vl), HS_ENOENT);
    assert_int_equal(hs_kv_del1(kv, "zz", 2), HS_ENOENT);
    assert_int_equal(hs_kv_put1(kv, "", 0, "x", 1), HS_EINVAL);
    hs_kv_close(kv);
    /* durable across close/open */
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &kv), 0);
    assert_int_equal(hs_kv_get1(kv, "a", 1, &v, &vl), 0);
    assert_memory_equal(v, "one", 3);
    free(v);
    assert_int_equal(hs_kv_del1(kv, "a", 1), 0);
    assert_int_equal(hs_kv_get1(kv, "a", 1, &v, &vl), HS_ENOENT);
    hs_kv_close(kv);
}

static void test_txn_atomic(void **state)
{
    (void)state;
    hs_kv_t *kv;
    hs_kv_txn_t *t, *r;
    hs_kv_val_t v;
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &kv), 0);
    assert_int_equal(hs_kv_txn_begin(kv, 0, &t), 0);
    assert_int_equal(hs_kv_put(t, "k1", 2, "v1", 2), 0);
    assert_int_equal(hs_kv_put(t, "k2", 2, "v2", 2), 0);
    /* own writes visible inside */
    assert_int_equal(hs_kv_get(t, "k1", 2, &v), 0);
    hs_kv_txn_abort(t);
    assert_int_equal(hs_kv_txn_begin(kv, HS_KV_RDONLY, &r), 0);
    assert_int_equal(hs_kv_get(r, "k1", 2, &v), HS_ENOENT);
    hs_kv_txn_abort(r);
    /* a snapshot does not see a later commit */
    assert_int_equal(hs_kv_txn_begin(kv, HS_KV_RDONLY, &r), 0);
    assert_int_equal(hs_kv_txn_begin(kv, 0, &t), 0);
    assert_int_equal(hs_kv_put(t, "k1", 2, "v1", 2), 0);
    assert_int_equal(hs_kv_put(t, "k2", 2, "v2", 2), 0);
    assert_int_equal(hs_kv_txn_commit(t), 0);
    assert_int_equal(hs_kv_get(r, "k2", 2, &v), HS_ENOENT);
    hs_kv_txn_abort(r);
    assert_int_equal(hs_kv_txn_begin(kv, HS_KV_RDONLY, &r), 0);
    assert_int_equal(hs_kv_get(r, "k2", 2, &v), 0);
    assert_int_equal(v.len, 2);
    assert_memory_equal(v.data, "v2", 2);
    hs_kv_txn_abort(r);
    hs_kv_close(kv);
}

static void test_scans(void **state)
{
    (void)state;
    hs_kv_t *kv;
    hs_kv_txn_t *t;
    hs_kv_cursor_t *c;
    hs_kv_val_t k, v;
    const char *keys[] = {"p/b", "p/a", "q", "p", "o/z", "p/c\xff", "p\xff"};
    assert_int_equal(hs_kv_open("lmdb", dir, NULL, &kv), 0);
    assert_int_equal(hs_kv_txn_begin(kv, 0, &t), 0);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(hs_kv_put(t, keys[i], strlen(keys[i]), "v", 1), 0);
    assert_int_equal(hs_kv_txn_commit(t), 0);

    assert_int_equal(hs_kv_txn_begin(kv, HS_KV_RDONLY, &t), 0);
    assert_int_equal(hs_kv_cursor_prefix(t, "p/", 2, &c), 0);
    const char *want[] = {"p/a", "p/b", "p/c\xff"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hs_kv_cursor_next(c, &k, &v), 0);
        assert_int_equal(k.len, strlen(want[i]));
        assert_memory_equal(k.data, want[i], k.len);
    }
    assert_int_equal(hs_kv_cursor_next(c, &k, &v), HS_EOF);
    hs_kv_cursor_close(c);
    /* [o, p/b): o/z, p, p/a */
    assert_int_equal(hs_kv_cursor_open(t, "o", 1, "p/b", 3, &c), 0);
    int n = 0;
    while (hs_kv_cursor_next(c, &k, &v) == 0)
        n++;
    assert_int_equal(n, 3);
    hs_kv_cursor_close(c);
    /* prefix that is all 0xff: unbounded end */
    assert_int_equal(hs_kv_cursor_prefix(t, "\xff", 1, &c), 0);
    assert_int_equal(hs_kv_cursor_next(c, &k, &v), HS_EOF);
    hs_kv_cursor_close(c);
    /* whole store */
    assert_int_equal(hs_kv_cursor_open(t, "", 0, NULL, 0, &c), 0);
    n = 0;
    while (hs_kv_cursor_next(c, &k, &v) == 0)
        n++;
    assert_int_equal(n, 7);
    hs_kv_cursor_close(c);
    hs_kv_txn_abort(t);
    assert_int_equal(hs_kv_sync(kv), 0);
    hs_kv_close(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unknown_engine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_point_ops_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scans, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
