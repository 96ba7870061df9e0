/*
 * The object store handle: opening a store directory (index, drive
 * directories, the store's fixed configuration), geometry, locking between
 * writers and the garbage collector, codec cache, and the small metadata
 * operations (stat, list, delete).
 *
 * Layout of DIR: index/ (LMDB: chunk index, stripes, manifests), access/
 * (LMDB, not fsynced: the access model), drives/dNN/ (fragment files, by
 * default; drives may live anywhere), lock (flock: shared by puts, reads
 * and heal; exclusive by gc, which deletes files).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "objects/internal.h"
#include "objects/objects.h"

uint64_t hs__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t hs__random_id(void)
{
    uint64_t id = 0;
    while (id == 0) {
        if (getrandom(&id, sizeof(id), 0) != sizeof(id))
            id = hs__now_ns() ^ ((uint64_t)getpid() << 40);
    }
    return id;
}

void hs_objects_default_geometry(int n, int *hot_d, int *hot_p, int *cold_d, int *cold_p)
{
    /* Parity grows with the drive count; hot stripes keep D <= 2P (at most
     * 1.5x overhead... and short stripes for fast rebuilds); cold stripes
     * use every drive (up to 16 data) for the lowest overhead. */
    int p = n <= 1 ? 0 : n == 2 ? 1 : n == 3 ? 1 : n <= 8 ? 2 : n <= 11 ? 3 : 4;
    int d = n - p;
    if (d < 1) d = 1;
    int hd = d < 2 * p ? d : 2 * p;
    if (hd < 1) hd = 1;
    int cd = d < 16 ? d : 16;
    if (cd + p > HS_EC_MAX) cd = HS_EC_MAX - p;
    *hot_d = hd;
    *hot_p = p;
    *cold_d = cd;
    *cold_p = p;
}

void hs_objects_geometry(const hs_objects_t *s, int *ndrives, int *hot_d, int *hot_p, int *cold_d,
                         int *cold_p)
{
    *ndrives = s->ndrives;
    *hot_d = s->hot.d;
    *hot_p = s->hot.p;
    *cold_d = s->cold.d;
    *cold_p = s->cold.p;
}

uint32_t hs_objects_frag_max(const hs_objects_t *s)
{
    return s->frag_max;
}

hs__geom_t hs__tier_geom(const hs_objects_t *s, int tier)
{
    return tier == HS_TIER_COLD ? s->cold : s->hot;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof(buf)) return HS_E2BIG;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) return HS_ERR(errno);
            buf[i] = c;
        }
    }
    return 0;
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* The store's fixed configuration, as text lines "key=value" in the
 * index under 'm' "config" (readable with mdb_dump when debugging). */
static int config_load(hs_objects_t *s, const char *text, size_t len)
{
    /* The stored value has no NUL: copy it into a terminated string. */
    char *t = malloc(len + 1), *save = NULL;
    int rc = 0;
    uint32_t cmin = 0, cavg = 0, cmax = 0;
    if (!t) return HS_ENOMEM;
    memcpy(t, text, len);
    t[len] = '\0';
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        const char *k = line, *v = eq + 1;
        if (strcmp(k, "hot") == 0)
            sscanf(v, "%d+%d", &s->hot.d, &s->hot.p);
        else if (strcmp(k, "cold") == 0)
            sscanf(v, "%d+%d", &s->cold.d, &s->cold.p);
        else if (strcmp(k, "chunk") == 0)
            sscanf(v, "%u,%u,%u", &cmin, &cavg, &cmax);
        else if (strcmp(k, "frag_max") == 0)
            s->frag_max = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "drive") == 0 && s->ndrives < HS_OBJ_MAX_DRIVES) {
            s->drives[s->ndrives] = v[0] == '/' ? strdup(v) : path_join(s->dir, v);
            if (!s->drives[s->ndrives++]) rc = HS_ENOMEM;
        }
    }
    free(t);
    if (rc == 0 &&
        (s->ndrives < 1 || s->hot.d < 1 || s->cold.d < 1 || s->hot.d + s->hot.p > s->ndrives ||
         s->cold.d + s->cold.p > s->ndrives || s->frag_max < 4096 || s->frag_max % 4096 != 0 ||
         hs_cdc_init(&s->cdc, cmin, cavg, cmax) < 0 ||
         s->cdc.max > (uint64_t)s->hot.d * s->frag_max))
        rc = HS_ECONFIG;
    return rc;
}

static int config_create(hs_objects_t *s, const hs_objects_opts_t *o, char **out)
{
    size_t cap = 65536, n = 0;
    char *t = malloc(cap);
    int nd = o->drive_dirs ? 0 : (o->ndrives > 0 ? o->ndrives : 6);
    int hd, hp, cd, cp;
    if (!t) return HS_ENOMEM;
    if (o->drive_dirs)
        while (o->drive_dirs[nd])
            nd++;
    if (nd < 1 || nd > HS_OBJ_MAX_DRIVES) {
        free(t);
        return HS_ECONFIG;
    }
    hs_objects_default_geometry(nd, &hd, &hp, &cd, &cp);
    if (o->d > 0) {
        hd = o->d;
        hp = o->p;
        if (hd + hp > nd || hp < 0) {
            free(t);
            return HS_ECONFIG;
        }
        if (cd < hd) {
            cd = hd;
            cp = hp;
        }
    }
    n += (size_t)snprintf(
        t + n, cap - n, "version=1\nhot=%d+%d\ncold=%d+%d\nchunk=%u,%u,%u\nfrag_max=%u\n", hd, hp,
        cd, cp, o->chunk_min ? o->chunk_min : HS_CDC_MIN_DEFAULT,
        o->chunk_avg ? o->chunk_avg : HS_CDC_AVG_DEFAULT,
        o->chunk_max ? o->chunk_max : HS_CDC_MAX_DEFAULT, o->frag_max ? o->frag_max : (1u << 20));
    for (int i = 0; i < nd && n < cap - 4200; i++) {
        if (o->drive_dirs)
            n += (size_t)snprintf(t + n, cap - n, "drive=%s\n", o->drive_dirs[i]);
        else
            n += (size_t)snprintf(t + n, cap - n, "drive=drives/d%02d\n", i);
    }
    *out = t;
    (void)s;
    return (int)n;
}

/* "2m" or "2048k": fragment sizes are whole 4 KiB pages. */
static void size_str(uint32_t v, char *out, size_t cap)
{
    if (v % (1u << 20) == 0)
        snprintf(out, cap, "%um", v >> 20);
    else
        snprintf(out, cap, "%uk", v >> 10);
}

/* The fragment size is part of every stripe already written, so a new
 * value cannot apply; refusing beats a silently different layout. */
static int check_frag_max(const hs_objects_t *s, uint32_t want, char *why, size_t cap)
{
    if (want == 0 || want == s->frag_max)
        return 0;
    char have[16], msg[4200];
    size_str(s->frag_max, have, sizeof(have));
    snprintf(msg, sizeof(msg),
             "the store in %s was created with frag_max %s, fixed at creation; leave it unset or "
             "give %s",
             s->dir, have, have);
    if (why && cap)
        snprintf(why, cap, "%s", msg);
    else
        hs_log_warn("objects_open", "store=%s err=\"%s\"", s->dir, msg);
    return HS_ECONFIG;
}

int hs_objects_open(const char *dir, const hs_objects_opts_t *opts, hs_objects_t **out)
{
    return hs_objects_open_why(dir, opts, out, NULL, 0);
}

int hs_objects_open_why(const char *dir, const hs_objects_opts_t *opts, hs_objects_t **out,
                        char *why, size_t cap)
{
    if (why && cap)
        why[0] = '\0';
    hs_objects_opts_t none = {0};
    const hs_objects_opts_t *o = opts ? opts : &none;
    hs_objects_t *s = calloc(1, sizeof(*s));
    int rc;
    char *p = NULL;
    if (!s) return HS_ENOMEM;
    pthread_mutex_init(&s->ec_mu, NULL);
    pthread_mutex_init(&s->repair_mu, NULL);
    s->no_fsync = o->no_fsync;
    s->dir = strdup(dir);
    s->lockpath = path_join(dir, "lock");
    if (!s->dir || !s->lockpath) {
        rc = HS_ENOMEM;
        goto fail;
    }
    if (o->readonly_open) {
        struct stat sb;
        p = path_join(dir, "index/data.mdb");
        rc = p && stat(p, &sb) == 0 ? 0 : HS_ENOENT;
        free(p);
        p = NULL;
        if (rc < 0) goto fail;
    }
    if ((rc = mkdir_p(dir)) < 0) goto fail;
    p = path_join(dir, "index");
    rc = p ? hs_kv_open("lmdb", p, NULL, &s->kv) : HS_ENOMEM;
    free(p);
    if (rc < 0) goto fail;
    p = path_join(dir, "access");
    hs_kv_opts_t aopts = {.no_sync = 1, .map_size = 8ull << 30};
    rc = p ? hs_kv_open("lmdb", p, &aopts, &s->akv) : HS_ENOMEM;
    free(p);
    p = NULL;
    if (rc < 0) goto fail;

    static const char ckey[] = "mconfig";
    void *cfg = NULL;
    size_t clen = 0;
    rc = hs_kv_get1(s->kv, ckey, sizeof(ckey) - 1, &cfg, &clen);
    if (rc == HS_ENOENT) {
        char *text = NULL;
        int n = config_create(s, o, &text);
        if (n < 0) {
            rc = n;
            goto fail;
        }
        /* Check it as an open would before saving it: a saved config that
         * does not load leaves a store that can never be opened again. */
        hs_objects_t probe = {.dir = s->dir};
        rc = config_load(&probe, text, (size_t)n);
        for (int i = 0; i < probe.ndrives; i++)
            free(probe.drives[i]);
        if (rc < 0) {
            free(text);
            goto fail;
        }
        /* Two processes creating at once: the first commit wins and both
         * then read it back. */
        hs_kv_txn_t *txn;
        hs_kv_val_t v;
        rc = hs_kv_txn_begin(s->kv, 0, &txn);
        if (rc == 0) {
            if (hs_kv_get(txn, ckey, sizeof(ckey) - 1, &v) == HS_ENOENT)
                rc = hs_kv_put(txn, ckey, sizeof(ckey) - 1, text, (size_t)n);
            if (rc == 0)
                rc = hs_kv_txn_commit(txn);
            else
                hs_kv_txn_abort(txn);
        }
        free(text);
        if (rc < 0) goto fail;
        rc = hs_kv_get1(s->kv, ckey, sizeof(ckey) - 1, &cfg, &clen);
    }
    if (rc < 0) goto fail;
    rc = config_load(s, cfg, clen);
    free(cfg);
    if (rc < 0) goto fail;
    if (o->ndrives > 0 && !o->drive_dirs && o->ndrives != s->ndrives) {
        rc = HS_ECONFIG; /* an existing store keeps its drives */
        goto fail;
    }
    if ((rc = check_frag_max(s, o->frag_max, why, cap)) < 0) goto fail;
    /* A drive directory that vanished (a replaced disk) is recreated
     * empty; heal fills it. */
    for (int i = 0; i < s->ndrives; i++)
        if ((rc = mkdir_p(s->drives[i])) < 0) goto fail;
    int lfd = open(s->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0) {
        rc = HS_ERR(errno);
        goto fail;
    }
    close(lfd);
    s->m_corrupt = hs_counter("hs_objects_corrupt_detected_total", NULL,
                              "fragment blocks or headers that failed their checksum on read");
    s->m_repaired = hs_counter("hs_objects_fragments_repaired_total", NULL,
                               "fragments rebuilt from the others and rewritten");
    s->m_put_bytes =
        hs_counter("hs_objects_put_bytes_total", NULL, "logical bytes committed by puts");
    s->m_dedup_bytes = hs_counter("hs_objects_dedup_bytes_total", NULL,
                                  "bytes of puts whose chunks were already stored");
    s->m_get_bytes = hs_counter("hs_objects_get_bytes_total", NULL, "bytes returned by reads");
    *out = s;
    return 0;
fail:
    hs_objects_close(s);
    return rc;
}

void hs_objects_close(hs_objects_t *s)
{
    if (!s) return;
    hs_kv_close(s->kv);
    hs_kv_close(s->akv);
    for (int i = 0; i < s->ndrives; i++)
        free(s->drives[i]);
    for (int d = 0; d <= HS_EC_MAX; d++)
        for (int p = 0; p <= HS_EC_MAX; p++)
            if (s->ecs[d][p]) {
                hs_ec_free(s->ecs[d][p]);
                free(s->ecs[d][p]);
            }
    pthread_mutex_destroy(&s->ec_mu);
    pthread_mutex_destroy(&s->repair_mu);
    free(s->dir);
    free(s->lockpath);
    free(s);
}

int hs__lock(hs_objects_t *s, bool exclusive, bool nonblock)
{
    /* Each holder opens its own description, so flock orders threads of
     * one process as well as processes. */
    int fd = open(s->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return HS_ERR(errno);
    int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonblock ? LOCK_NB : 0);
    while (flock(fd, op) < 0) {
        int e = errno;
        if (e == EINTR) continue;
        close(fd);
        return e == EWOULDBLOCK ? HS_EBUSY : HS_ERR(e);
    }
    return fd;
}

void hs__unlock(int fd)
{
    if (fd >= 0) close(fd);
}

const hs_ec_t *hs__ec(hs_objects_t *s, int d, int p)
{
    if (d < 1 || p < 0 || d + p > HS_EC_MAX) return NULL;
    pthread_mutex_lock(&s->ec_mu);
    if (!s->ecs[d][p]) {
        hs_ec_t *ec = malloc(sizeof(*ec));
        if (ec && hs_ec_init(ec, d, p) < 0) {
            free(ec);
            ec = NULL;
        }
        s->ecs[d][p] = ec;
    }
    const hs_ec_t *r = s->ecs[d][p];
    pthread_mutex_unlock(&s->ec_mu);
    return r;
}

void hs_objects_counters(const hs_objects_t *s, uint64_t *corrupt_detected, uint64_t *repaired)
{
    *corrupt_detected = atomic_load(&s->corrupt_detected);
    *repaired = atomic_load(&s->repaired);
}

int hs_obj_stat(hs_objects_t *s, const char *name, hs_obj_info_t *info)
{
    uint8_t k[HS_OBJ_NAME_MAX + 1];
    size_t klen;
    hs_kv_txn_t *txn;
    hs_kv_val_t v;
    hs__manifest_t m;
    int rc = hs__key_object(k, name, &klen);
    if (rc < 0) return rc;
    if ((rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn)) < 0) return rc;
    rc = hs_kv_get(txn, k, klen, &v);
    if (rc == 0) rc = hs__manifest_dec(&m, v.data, v.len);
    hs_kv_txn_abort(txn);
    if (rc < 0) return rc;
    hs__manifest_info(&m, info);
    hs__manifest_free(&m);
    return 0;
}

int hs_obj_delete(hs_objects_t *s, const char *name)
{
    uint8_t k[HS_OBJ_NAME_MAX + 1];
    size_t klen;
    hs_kv_txn_t *txn;
    hs_kv_val_t v;
    hs__manifest_t m;
    int rc = hs__key_object(k, name, &klen);
    if (rc < 0) return rc;
    if ((rc = hs_kv_txn_begin(s->kv, 0, &txn)) < 0) return rc;
    rc = hs_kv_get(txn, k, klen, &v);
    if (rc == 0 && (rc = hs__manifest_dec(&m, v.data, v.len)) == 0) {
        rc = hs__deref_manifest(txn, &m);
        hs__manifest_free(&m);
        if (rc == 0) rc = hs_kv_del(txn, k, klen);
    }
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    return hs_kv_txn_commit(txn);
}

int hs_obj_list(hs_objects_t *s, const char *prefix,
                int (*fn)(void *arg, const char *name, const hs_obj_info_t *info), void *arg)
{
    uint8_t k[HS_OBJ_NAME_MAX + 2];
    size_t plen = prefix ? strlen(prefix) : 0;
    hs_kv_txn_t *txn;
    hs_kv_cursor_t *c;
    hs_kv_val_t key, val;
    char name[HS_OBJ_NAME_MAX + 1];
    if (plen > HS_OBJ_NAME_MAX) return HS_EINVAL;
    k[0] = HS_K_OBJECT;
    if (plen) memcpy(k + 1, prefix, plen);
    int rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = hs_kv_cursor_prefix(txn, k, plen + 1, &c);
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    while ((rc = hs_kv_cursor_next(c, &key, &val)) == 0) {
        hs__manifest_t m;
        hs_obj_info_t info;
        size_t n = key.len - 1;
        if (n > HS_OBJ_NAME_MAX) continue;
        memcpy(name, (const char *)key.data + 1, n);
        name[n] = 0;
        if (hs__manifest_dec(&m, val.data, val.len) < 0) continue;
        hs__manifest_info(&m, &info);
        hs__manifest_free(&m);
        if ((rc = fn(arg, name, &info)) != 0) break;
    }
    hs_kv_cursor_close(c);
    hs_kv_txn_abort(txn);
    return rc == HS_EOF ? 0 : rc;
}
