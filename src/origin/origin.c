/*
 * The process-wide origin: opening its stores under DATA, credentials, the
 * L2 cache, and the reconcile pass that removes object-store bytes a crash
 * left without metadata.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/log.h"
#include "objects/objects.h"
#include "origin/s3-int.h"

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp))
        return HS_EINVAL;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == 0) {
            char c = tmp[i];
            tmp[i] = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return HS_ERR(errno);
            tmp[i] = c;
        }
    }
    return 0;
}

int hs_origin_open(const hs_origin_opts_t *opts, hs_origin_t **out, bool *created_creds)
{
    hs__s3_metrics_init();
    hs_origin_t *o = calloc(1, sizeof(*o));
    if (!o)
        return HS_ENOMEM;
    o->data = strdup(opts->data && opts->data[0] ? opts->data : "./data");
    o->region = strdup(opts->region && opts->region[0] ? opts->region : "us-east-1");
    o->domain = strdup(opts->domain ? opts->domain : "");
    o->max_skew_s = opts->max_skew_s > 0 ? opts->max_skew_s : 900;
    o->max_object = opts->max_object ? opts->max_object : (uint64_t)5 << 30;
    o->cache_object_max = opts->cache_object_max;
    int rc = HS_ENOMEM;
    if (!o->data || !o->region || !o->domain)
        goto fail;
    if ((rc = mkdir_p(o->data)) != 0) {
        hs_log_error("origin_open", "dir=%s err=\"%s\"", o->data, hs_strerror(rc));
        goto fail;
    }
    if ((rc = hs__s3_creds_load(o, opts->access_key, opts->secret_key, created_creds)) != 0)
        goto fail;
    char path[4200];
    snprintf(path, sizeof(path), "%s/meta", o->data);
    if ((rc = hs_meta_open(path, &o->meta)) != 0) {
        hs_log_error("origin_open", "store=%s err=\"%s\"", path, hs_strerror(rc));
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/objects", o->data);
    if ((rc = hs_objects_open(path, &opts->objects, &o->objs)) != 0) {
        hs_log_error("origin_open", "store=%s err=\"%s\"", path, hs_strerror(rc));
        goto fail;
    }
    if (opts->cache_bytes) {
        hs_l2_opts_t lo = {
            .max_bytes = opts->cache_bytes,
            .max_item_bytes = opts->cache_object_max + 4096,
            .policy = HS_L2_DEFAULT,
            .metrics_prefix = "hs_origin_l2",
        };
        o->l2 = hs_l2_new_opts(&lo);
        if (!o->l2) {
            rc = HS_ENOMEM;
            goto fail;
        }
    }
    long n = opts->no_reconcile ? 0 : hs_origin_reconcile(o);
    if (n > 0)
        hs_log_info("origin_reconcile", "removed=%ld", n);
    if (opts->background) {
        hs_obj_bg_opts_t bo = {.tiering = true, .gc = true};
        rc = hs_objects_bg_start(o->objs, &bo, &o->bg);
        if (rc)
            hs_log_warn("origin_open", "msg=\"object store background thread not started\" err=%s",
                        hs_errname(rc));
    }
    *out = o;
    return 0;
fail:
    hs_origin_close(o);
    return rc;
}

void hs_origin_close(hs_origin_t *o)
{
    if (!o)
        return;
    if (o->bg)
        hs_objects_bg_stop(o->bg);
    if (o->l2)
        hs_l2_free(o->l2);
    if (o->objs)
        hs_objects_close(o->objs);
    if (o->meta)
        hs_meta_close(o->meta);
    free(o->data);
    free(o->region);
    free(o->domain);
    free(o);
}

void hs_origin_credentials(const hs_origin_t *o, const char **ak, const char **sk)
{
    *ak = o->access_key;
    *sk = o->secret_key;
}

/* ---- reconcile ---- */

typedef struct names {
    char **v;
    size_t n, cap;
} names_t;

static int names_add(names_t *s, const char *name)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        char **nv = realloc(s->v, nc * sizeof(*nv));
        if (!nv)
            return HS_ENOMEM;
        s->v = nv;
        s->cap = nc;
    }
    if (!(s->v[s->n] = strdup(name)))
        return HS_ENOMEM;
    s->n++;
    return 0;
}

static void names_free(names_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_ref(void *arg, const char *name)
{
    return names_add(arg, name);
}

typedef struct scan {
    names_t *refs, *gone;
} scan_t;

static int check_obj(void *arg, const char *name, const hs_obj_info_t *info)
{
    (void)info;
    scan_t *s = arg;
    const char *k = name;
    if (s->refs->n && bsearch(&k, s->refs->v, s->refs->n, sizeof(char *), cmp_str))
        return 0;
    return names_add(s->gone, name);
}

long hs_origin_reconcile(hs_origin_t *o)
{
    names_t refs = {0}, gone = {0};
    int rc = hs_meta_each_segment(o->meta, add_ref, &refs);
    if (!rc) {
        if (refs.n)
            qsort(refs.v, refs.n, sizeof(char *), cmp_str);
        scan_t s = {&refs, &gone};
        rc = hs_obj_list(o->objs, "o/", check_obj, &s);
    }
    long removed = 0;
    for (size_t i = 0; !rc && i < gone.n; i++)
        if (hs_obj_delete(o->objs, gone.v[i]) == 0)
            removed++;
    names_free(&refs);
    names_free(&gone);
    return rc ? rc : removed;
}
