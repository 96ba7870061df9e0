/*
 * Maintenance passes over a store: fsck (index and fragment consistency,
 * refcounts recounted from the manifests), heal (rebuild missing or bad
 * fragments, e.g. a replaced drive), scrub (read and verify every block at
 * a bounded rate) and gc (reclaim unreferenced chunks and stripes, compact
 * mostly-dead stripes, sweep orphan files of crashed writers).
 *
 * Locking: heal and scrub hold the store's shared lock, so reads and puts
 * go on while they run. Freeing chunks and unlinking files need the
 * exclusive lock (a put must not deduplicate against a chunk being freed,
 * a reader must not lose its files): gc takes it in short steps and
 * releases it between them. fsck holds the shared lock while it checks
 * (and, with --repair, rewrites fragments as heal does and fixes
 * refcounts), then --repair collects garbage in gc's short exclusive
 * steps.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "objects/internal.h"
#include "objects/objects.h"

/* ---- a hash -> count map for recounting references ---- */
typedef struct refent {
    uint8_t hash[32];
    uint64_t count;
    uint8_t used, seen;
} refent_t;

typedef struct refmap {
    refent_t *t;
    size_t cap, n;
} refmap_t;

static refent_t *ref_slot(refmap_t *m, const uint8_t *hash, bool add)
{
    if (add && (m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 4096;
        refent_t *nt = calloc(nc, sizeof(*nt));
        if (!nt) return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->t[i].used) continue;
            uint64_t h;
            memcpy(&h, m->t[i].hash, 8);
            size_t j = h & (nc - 1);
            while (nt[j].used)
                j = (j + 1) & (nc - 1);
            nt[j] = m->t[i];
        }
        free(m->t);
        m->t = nt;
        m->cap = nc;
    }
    if (!m->cap) return NULL;
    uint64_t h;
    memcpy(&h, hash, 8);
    for (size_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        if (!m->t[j].used) {
            if (!add) return NULL;
            m->t[j].used = 1;
            memcpy(m->t[j].hash, hash, 32);
            m->n++;
            return &m->t[j];
        }
        if (memcmp(m->t[j].hash, hash, 32) == 0) return &m->t[j];
    }
}

/* ---- stripe list ---- */
typedef struct stripe_ent {
    uint64_t id;
    hs__stripe_rec_t rec;
    uint64_t live_chunks, live_bytes; /* recounted by fsck */
} stripe_ent_t;

static uint64_t rd_be64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

static int list_stripes(hs_objects_t *s, stripe_ent_t **out, size_t *n)
{
    hs_kv_txn_t *txn;
    hs_kv_cursor_t *c;
    hs_kv_val_t k, v;
    uint8_t pfx = HS_K_STRIPE;
    size_t cap = 0;
    stripe_ent_t *a = NULL;
    *n = 0;
    int rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    if ((rc = hs_kv_cursor_prefix(txn, &pfx, 1, &c)) < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    while ((rc = hs_kv_cursor_next(c, &k, &v)) == 0) {
        if (k.len != 9) continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            stripe_ent_t *na = realloc(a, nc * sizeof(*na));
            if (!na) {
                rc = HS_ENOMEM;
                break;
            }
            a = na;
            cap = nc;
        }
        memset(&a[*n], 0, sizeof(a[*n]));
        a[*n].id = rd_be64((const uint8_t *)k.data + 1);
        if (hs__stripe_dec(&a[*n].rec, v.data, v.len) == 0) (*n)++;
    }
    hs_kv_cursor_close(c);
    hs_kv_txn_abort(txn);
    if (rc != HS_EOF) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static stripe_ent_t *find_stripe(stripe_ent_t *a, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo].id == id ? &a[lo] : NULL;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Checks (and with repair rebuilds) the fragments of every stripe. */
static int check_stripes(hs_objects_t *s, stripe_ent_t *a, size_t n, const hs_obj_maint_opts_t *o,
                         const char *phase, bool verify, bool repair, hs_obj_report_t *rep)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint64_t t0 = mono_ns(), last = 0;
    int rc = 0;
    for (size_t k = 0; k < n; k++) {
        const hs__stripe_rec_t *st = &a[k].rec;
        bool bad = false;
        rep->stripes++;
        rep->bytes_stored += (uint64_t)st->frag_len * (st->d + st->p);
        if (verify) {
            size_t need = (size_t)st->d * st->frag_len;
            if (need > cap) {
                uint8_t *nb = realloc(buf, need);
                if (!nb) {
                    rc = HS_ENOMEM;
                    break;
                }
                buf = nb;
                cap = need;
            }
            hs_obj_report_t r1 = {0};
            int lr = hs__stripe_load(s, a[k].id, st, buf, true, repair, &r1);
            rep->frags_missing += r1.frags_missing;
            rep->frags_corrupt += r1.frags_corrupt;
            rep->frags_rebuilt += r1.frags_rebuilt;
            rep->stripes_lost += r1.stripes_lost;
            rep->bytes_read += r1.bytes_read;
            rep->errors += r1.errors;
            if (lr < 0 && lr != HS_EIO) {
                rc = lr;
                break;
            }
        } else {
            for (int i = 0; i < st->d + st->p; i++) {
                char path[4200];
                hs__frag_hdr_t h;
                hs__frag_path(path, sizeof(path), hs__frag_drive(s, st, i), a[k].id, i);
                int fd = hs__frag_open(path, a[k].id, i, st, &h);
                if (fd < 0) {
                    bad = true;
                    rep->frags_missing++;
                    continue;
                }
                close(fd);
                hs__frag_hdr_free(&h);
            }
            if (bad && repair) {
                size_t need = (size_t)st->d * st->frag_len;
                if (need > cap) {
                    uint8_t *nb = realloc(buf, need);
                    if (!nb) {
                        rc = HS_ENOMEM;
                        break;
                    }
                    buf = nb;
                    cap = need;
                }
                hs_obj_report_t r1 = {0};
                hs__stripe_load(s, a[k].id, st, buf, true, true, &r1);
                rep->frags_rebuilt += r1.frags_rebuilt;
                rep->frags_corrupt += r1.frags_corrupt;
                rep->stripes_lost += r1.stripes_lost;
                rep->errors += r1.errors;
            }
        }
        /* Rate bound: sleep until bytes_read / elapsed <= rate. */
        if (o && o->rate_bps) {
            uint64_t el = mono_ns() - t0;
            uint64_t due = (uint64_t)((double)rep->bytes_read * 1e9 / (double)o->rate_bps);
            if (due > el) usleep((useconds_t)((due - el) / 1000));
        }
        if (o && o->progress) {
            uint64_t now = mono_ns();
            if (now - last > 250000000ull || k + 1 == n) {
                o->progress(o->progress_arg, phase, k + 1, n);
                last = now;
            }
        }
    }
    free(buf);
    return rc;
}

int hs_objects_heal(hs_objects_t *s, const hs_obj_maint_opts_t *opts, hs_obj_report_t *rep)
{
    stripe_ent_t *a = NULL;
    size_t n;
    hs_obj_report_t dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof(*rep));
    int lk = hs__lock(s, false, false);
    if (lk < 0) return lk;
    int rc = list_stripes(s, &a, &n);
    if (rc == 0) rc = check_stripes(s, a, n, opts, "heal", opts && opts->verify_data, true, rep);
    free(a);
    hs__unlock(lk);
    if (rc < 0) return rc;
    return rep->stripes_lost || rep->errors ? HS_ECORRUPT : 0;
}

int hs_objects_scrub(hs_objects_t *s, const hs_obj_maint_opts_t *opts, hs_obj_report_t *rep)
{
    stripe_ent_t *a = NULL;
    size_t n;
    hs_obj_report_t dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof(*rep));
    int lk = hs__lock(s, false, false);
    if (lk < 0) return lk;
    int rc = list_stripes(s, &a, &n);
    if (rc == 0) rc = check_stripes(s, a, n, opts, "scrub", true, true, rep);
    free(a);
    hs__unlock(lk);
    if (rc < 0) return rc;
    return rep->stripes_lost || rep->errors ? HS_ECORRUPT : 0;
}

/* Collects the keys under a one-byte prefix (key copies, concatenated
 * with 2-byte lengths, each followed by a 1-byte length and up to
 * HS__STRIPE_REC_LEN bytes of its value) so later transactions can change
 * them. */
static int collect_keys(hs_kv_txn_t *txn, uint8_t pfx, uint8_t **out, size_t *len, size_t *count)
{
    hs_kv_cursor_t *c;
    hs_kv_val_t k, v;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    *count = 0;
    if (!b) return HS_ENOMEM;
    int rc = hs_kv_cursor_prefix(txn, &pfx, 1, &c);
    if (rc < 0) {
        free(b);
        return rc;
    }
    while ((rc = hs_kv_cursor_next(c, &k, &v)) == 0) {
        if (n + 2 + k.len + 1 + HS__STRIPE_REC_LEN > cap) {
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                rc = HS_ENOMEM;
                break;
            }
            b = nb;
            cap *= 2;
        }
        b[n] = (uint8_t)(k.len >> 8);
        b[n + 1] = (uint8_t)k.len;
        memcpy(b + n + 2, k.data, k.len);
        n += 2 + k.len;
        /* garbage entries carry the stripe geometry as their value */
        size_t vl = v.len > HS__STRIPE_REC_LEN ? HS__STRIPE_REC_LEN : v.len;
        b[n] = (uint8_t)vl;
        memcpy(b + n + 1, v.data, vl);
        n += 1 + vl;
        (*count)++;
    }
    hs_kv_cursor_close(c);
    if (rc != HS_EOF) {
        free(b);
        return rc;
    }
    *out = b;
    *len = n;
    return 0;
}

/* Collects the keys of a queue in a read-only snapshot (no lock needed:
 * every step re-checks its entries under the lock). */
static int collect_queue(hs_objects_t *s, uint8_t pfx, uint8_t **out, size_t *len, size_t *count)
{
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = collect_keys(txn, pfx, out, len, count);
    hs_kv_txn_abort(txn);
    return rc;
}

/* One entry of a collect_keys buffer at *o (advanced past it). */
static void next_key(const uint8_t *b, size_t *o, const uint8_t **key, size_t *kl,
                     const uint8_t **val, size_t *vl)
{
    *kl = (size_t)b[*o] << 8 | b[*o + 1];
    *key = b + *o + 2;
    *vl = b[*o + 2 + *kl];
    *val = b + *o + 3 + *kl;
    *o += 3 + *kl + *vl;
}

/*
 * gc runs in steps. Freeing a chunk and unlinking files need the store's
 * exclusive lock (no put may have deduplicated against the chunk, no
 * reader may hold the files, no writer may be between writing its files
 * and committing them); gc takes it for one short step at a time and
 * gives it back between steps, pausing before it asks again (see
 * GC_GAP_MIN_US), so puts and reads queued behind it run.
 * A step ends after GC_STEP_ITEMS items or GC_STEP_NS of work, whichever
 * comes first: the item bound keeps an index transaction small, the time
 * bound keeps a hold short on a slow disk (one item is one index lookup
 * and a few unlinks, tens of microseconds on a local disk). The index
 * commit that ends a zero-ref step (an fsync) falls inside the hold: it
 * must land before a put can see the chunk gone.
 *
 * fsck --repair runs the same steps after its checks; fsck without it
 * sweeps orphans (counting only) under the shared lock it holds already
 * (stepped = false: the lock calls are no-ops).
 */
#define GC_STEP_ITEMS 256
#define GC_STEP_NS 10000000ull
/*
 * Pause after each exclusive step, before asking for the lock again: a
 * quarter of the hold, at least GC_GAP_MIN_US. flock does not hand a
 * released lock to the process waiting for it: closing the lock wakes the
 * waiting puts, but gc, still on the CPU, asked again within ~25 us, well
 * before a woken put ran, and got the lock first. Measured, one put
 * waited through 34 back-to-back steps (204 ms) while no step held the
 * lock longer than 11 ms. The pause lets woken lockers take their shared
 * lock (gc's exclusive request then waits for them, as designed) and
 * caps gc's share of exclusive time at 80%.
 */
#define GC_GAP_MIN_US 1000
/* nonblock: how often a step tries the lock before the run ends early */
#define GC_LOCK_TRIES 20
#define GC_LOCK_RETRY_US 2000

typedef struct gc_run {
    hs_objects_t *s;
    const hs_obj_maint_opts_t *o;
    hs_obj_report_t *rep;
    bool stepped, nonblock;
    int lk;
    bool excl;
    uint64_t t_lock, last_progress;
    const char *phase; /* of the last progress call */
    uint64_t steps, max_hold_ns;
} gc_run_t;

static int step_lock(gc_run_t *g, bool exclusive)
{
    if (!g->stepped) return 0;
    for (int i = 0;; i++) {
        int lk = hs__lock(g->s, exclusive, g->nonblock);
        if (lk >= 0) {
            g->lk = lk;
            g->excl = exclusive;
            g->t_lock = mono_ns();
            return 0;
        }
        /* Exclusive flock has no writer preference: under a steady stream
         * of puts a try may keep failing; a few spaced tries catch a gap. */
        if (lk != HS_EBUSY || i + 1 >= GC_LOCK_TRIES) return lk;
        usleep(GC_LOCK_RETRY_US);
    }
}

static void step_unlock(gc_run_t *g)
{
    if (!g->stepped) return;
    bool excl = g->excl;
    uint64_t held = excl ? mono_ns() - g->t_lock : 0;
    if (excl) {
        if (held > g->max_hold_ns) g->max_hold_ns = held;
        g->steps++;
    }
    hs__unlock(g->lk);
    g->lk = -1;
    g->excl = false;
    if (excl) {
        uint64_t gap_us = held / 4000;
        usleep((useconds_t)(gap_us > GC_GAP_MIN_US ? gap_us : GC_GAP_MIN_US));
    }
}

static bool step_full(const gc_run_t *g, size_t items)
{
    return items >= GC_STEP_ITEMS || (g->stepped && mono_ns() - g->t_lock >= GC_STEP_NS);
}

static void gc_progress(gc_run_t *g, const char *phase, uint64_t done, uint64_t total)
{
    if (!g->o || !g->o->progress) return;
    uint64_t now = mono_ns();
    /* the first step of a phase, then every 250 ms, and its end */
    if (phase != g->phase || done == total || now - g->last_progress > 250000000ull) {
        g->o->progress(g->o->progress_arg, phase, done, total);
        g->last_progress = now;
        g->phase = phase;
    }
}

/* Frees the chunks whose refcount is still 0 ('z' queue); stripes left
 * with no live chunk move to the 'g' queue. The queue is listed once;
 * each step re-reads every entry under the exclusive lock in its own
 * transaction, so a crash or an early end leaves a consistent index and
 * the rest of the queue for the next run. */
static int gc_zero(gc_run_t *g)
{
    hs_objects_t *s = g->s;
    uint8_t *keys;
    size_t len, count, done = 0;
    int rc = collect_queue(s, HS_K_ZERO, &keys, &len, &count);
    if (rc < 0) return rc;
    for (size_t o = 0; o < len && rc == 0;) {
        hs_kv_txn_t *txn;
        if ((rc = step_lock(g, true)) < 0) break;
        if ((rc = hs_kv_txn_begin(s->kv, 0, &txn)) < 0) {
            step_unlock(g);
            break;
        }
        uint64_t freed = 0;
        for (size_t items = 0; o < len && rc == 0 && !step_full(g, items); items++, done++) {
            const uint8_t *key, *val;
            size_t kl, vl;
            next_key(keys, &o, &key, &kl, &val, &vl);
            if (kl != 33) continue;
            hs__chunk_rec_t c;
            const uint8_t *hash = key + 1;
            hs_kv_del(txn, key, kl);
            if (hs__get_chunk(txn, hash, &c) < 0 || c.refs > 0) continue;
            uint8_t ck[33], rk[13];
            hs_kv_del(txn, ck, hs__key_chunk(ck, hash));
            hs_kv_del(txn, rk, hs__key_rev(rk, c.stripe, c.off));
            freed++;
            hs__stripe_rec_t st;
            if (hs__get_stripe(txn, c.stripe, &st) < 0) continue;
            st.live_chunks = st.live_chunks ? st.live_chunks - 1 : 0;
            st.live_bytes = st.live_bytes >= c.stored_len ? st.live_bytes - c.stored_len : 0;
            if (st.live_chunks == 0) {
                uint8_t sk[9], gk[9], gv[HS__STRIPE_REC_LEN];
                hs__stripe_enc(gv, &st);
                hs_kv_del(txn, sk, hs__key_stripe(sk, c.stripe));
                rc = hs_kv_put(txn, gk, hs__key_garbage(gk, c.stripe), gv, sizeof(gv));
            } else {
                rc = hs__put_stripe(txn, c.stripe, &st);
            }
        }
        if (rc == 0)
            rc = hs_kv_txn_commit(txn);
        else
            hs_kv_txn_abort(txn);
        if (rc == 0) g->rep->chunks_freed += freed;
        step_unlock(g);
        gc_progress(g, "gc-zero", done, count);
    }
    free(keys);
    return rc;
}

/* Unlinks the files of stripes in the 'g' queue, then drops the entries
 * (after a crash the queue is simply processed again: unlinking a file
 * already gone is harmless). Only the unlinks need the exclusive lock; the
 * directory fsyncs and the transaction dropping the entries run after it
 * is released (an entry outliving its files only makes the orphan sweep
 * leave alone files that are gone). */
static int gc_garbage(gc_run_t *g)
{
    hs_objects_t *s = g->s;
    uint8_t *keys;
    size_t len, count, done = 0;
    int rc = collect_queue(s, HS_K_GARBAGE, &keys, &len, &count);
    if (rc < 0) return rc;
    for (size_t o = 0; o < len && rc == 0;) {
        size_t first = o;
        uint64_t bytes = 0;
        if ((rc = step_lock(g, true)) < 0) break;
        for (size_t items = 0; o < len && !step_full(g, items); items++, done++) {
            const uint8_t *key, *val;
            size_t kl, vl;
            next_key(keys, &o, &key, &kl, &val, &vl);
            hs__stripe_rec_t st;
            if (kl != 9 || hs__stripe_dec(&st, val, vl) < 0) continue;
            uint64_t id = rd_be64(key + 1);
            for (int i = 0; i < st.d + st.p; i++) {
                char path[4200];
                hs__frag_path(path, sizeof(path), hs__frag_drive(s, &st, i), id, i);
                unlink(path);
            }
            bytes += (uint64_t)st.frag_len * (st.d + st.p);
        }
        step_unlock(g);
        if (!s->no_fsync)
            for (int i = 0; i < s->ndrives; i++)
                hs__fsync_path(s->drives[i], true);
        hs_kv_txn_t *txn;
        if ((rc = hs_kv_txn_begin(s->kv, 0, &txn)) < 0) break;
        uint64_t freed = 0;
        for (size_t p = first; p < o;) {
            const uint8_t *key, *val;
            size_t kl, vl;
            next_key(keys, &p, &key, &kl, &val, &vl);
            /* an entry another gc dropped meanwhile was counted there */
            if (hs_kv_del(txn, key, kl) == 0) freed++;
        }
        if ((rc = hs_kv_txn_commit(txn)) == 0) {
            g->rep->stripes_freed += freed;
            g->rep->bytes_freed += freed ? bytes : 0;
        }
        gc_progress(g, "gc-garbage", done, count);
    }
    free(keys);
    return rc;
}

/* Whether drive file nm (of drive i) is an orphan in txn's view. Files
 * that are not ours (no fragment or temp name) never are. */
static bool is_orphan(hs_objects_t *s, hs_kv_txn_t *txn, int i, const char *nm)
{
    char *end = NULL;
    if (strstr(nm, ".tmp")) return true;
    unsigned long long id = strtoull(nm, &end, 16);
    if (end != nm + 16 || *end != '.') return false;
    hs__stripe_rec_t st;
    uint8_t gk[9];
    hs_kv_val_t v;
    int idx = atoi(end + 1);
    if (hs__get_stripe(txn, id, &st) == 0)
        /* owned, if it sits where the rotation puts it */
        return idx >= st.d + st.p || strcmp(hs__frag_drive(s, &st, idx), s->drives[i]) != 0;
    return hs_kv_get(txn, gk, hs__key_garbage(gk, id), &v) != 0;
}

typedef struct cand {
    int drive;
    char *name;
} cand_t;

/* Lists drive i without the lock and keeps the names that look orphaned
 * in a snapshot taken after the listing. A file owned in that snapshot
 * cannot become an orphan later (its stripe only leaves through the
 * garbage queue, which unlinks it); the others are re-checked under the
 * exclusive lock. */
static int list_candidates(hs_objects_t *s, int i, cand_t **a, size_t *n, size_t *cap)
{
    DIR *dir = opendir(s->drives[i]);
    struct dirent *de;
    char **names = NULL;
    size_t nn = 0, cn = 0;
    int rc = 0;
    if (!dir) return 0;
    while ((de = readdir(dir)) && rc == 0) {
        if (de->d_name[0] == '.') continue;
        if (nn == cn) {
            size_t nc = cn ? cn * 2 : 1024;
            char **nv = realloc(names, nc * sizeof(*nv));
            if (!nv) {
                rc = HS_ENOMEM;
                break;
            }
            names = nv;
            cn = nc;
        }
        if (!(names[nn] = strdup(de->d_name)))
            rc = HS_ENOMEM;
        else
            nn++;
    }
    closedir(dir);
    hs_kv_txn_t *txn = NULL;
    if (rc == 0) rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    for (size_t k = 0; k < nn; k++) {
        if (rc == 0 && is_orphan(s, txn, i, names[k])) {
            if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 256;
                cand_t *na = realloc(*a, nc * sizeof(*na));
                if (!na) {
                    rc = HS_ENOMEM;
                    free(names[k]);
                    continue;
                }
                *a = na;
                *cap = nc;
            }
            (*a)[*n].drive = i;
            (*a)[(*n)++].name = names[k];
        } else {
            free(names[k]);
        }
    }
    if (txn) hs_kv_txn_abort(txn);
    free(names);
    return rc;
}

/* Removes fragment files that no stripe record owns (a writer killed
 * before its commit) and temp files of interrupted repairs. The drive
 * directories are listed without the lock; the listed candidates are
 * re-checked and unlinked in steps under the exclusive lock. That is safe
 * because while gc holds it no put, repair or compaction is in flight: a
 * listed file then either has its stripe record (its writer committed) or
 * belongs to a writer that is gone. Files created after the listing are
 * not in the list. With remove = false (fsck) it only counts. */
static int gc_orphans(gc_run_t *g, bool remove)
{
    hs_objects_t *s = g->s;
    cand_t *a = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (int i = 0; i < s->ndrives && rc == 0; i++)
        rc = list_candidates(s, i, &a, &n, &cap);
    for (size_t k = 0; k < n && rc == 0;) {
        hs_kv_txn_t *txn;
        if ((rc = step_lock(g, true)) < 0) break;
        if ((rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn)) < 0) {
            step_unlock(g);
            break;
        }
        for (size_t items = 0; k < n && !step_full(g, items); items++, k++) {
            if (!is_orphan(s, txn, a[k].drive, a[k].name)) continue;
            if (!remove) {
                g->rep->orphans++;
                continue;
            }
            char path[4200];
            snprintf(path, sizeof(path), "%s/%s", s->drives[a[k].drive], a[k].name);
            /* gone meanwhile: a repair renamed its temp file, or another gc */
            if (unlink(path) == 0) {
                g->rep->orphans++;
                g->rep->orphans_removed++;
            } else if (errno != ENOENT) {
                g->rep->orphans++;
            }
        }
        hs_kv_txn_abort(txn);
        step_unlock(g);
        gc_progress(g, "gc-orphans", k, n);
    }
    for (size_t k = 0; k < n; k++)
        free(a[k].name);
    free(a);
    return rc;
}

/* Counts the chunks still stored in stripe id (rev keys whose chunk
 * record points there) in txn. */
static int stripe_live(hs_kv_txn_t *txn, uint64_t id, uint32_t *chunks, uint64_t *bytes)
{
    uint8_t pfx[13];
    hs_kv_cursor_t *c;
    hs_kv_val_t key, val;
    *chunks = 0;
    *bytes = 0;
    hs__key_rev(pfx, id, 0);
    int rc = hs_kv_cursor_prefix(txn, pfx, 9, &c);
    if (rc < 0) return rc;
    while ((rc = hs_kv_cursor_next(c, &key, &val)) == 0) {
        hs__chunk_rec_t cr;
        if (val.len != 32 || hs__get_chunk(txn, val.data, &cr) < 0 || cr.stripe != id) continue;
        (*chunks)++;
        *bytes += cr.stored_len;
    }
    hs_kv_cursor_close(c);
    return rc == HS_EOF ? 0 : rc;
}

/* Rewrites the live chunks of stripe id (read and packed from a snapshot)
 * into new stripes, then repoints them and retires the old stripe in one
 * transaction. Runs under the shared lock, like a tier move: it frees
 * nothing and unlinks nothing (the old stripe goes to the garbage queue,
 * whose files only go under the exclusive lock), and holding the shared
 * lock from the first fragment written to the commit keeps the orphan
 * sweep off the new files. A put may meanwhile deduplicate against one of
 * the stripe's chunks, a delete drop one to 0 and a put revive it, or a
 * tier move take one elsewhere: the commit re-reads every chunk and moves
 * only those still in the old stripe (with their current refcount, 0
 * included, so gc_zero decides later), and retires the stripe only if no
 * chunk is left in it. */
static int compact_one(gc_run_t *g, uint64_t id)
{
    hs_objects_t *s = g->s;
    hs__stripe_rec_t st0, *st = &st0;
    hs_kv_txn_t *txn = NULL;
    hs__packer_t *pk = NULL;
    hs__packed_t *moved = NULL;
    size_t nm = 0, cm = 0;
    uint8_t *buf = NULL;
    int rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    if (hs__get_stripe(txn, id, st) < 0 || st->live_bytes * 2 >= st->data_len) {
        hs_kv_txn_abort(txn);
        return 0; /* retired or refilled since the listing */
    }
    if (!(buf = malloc((size_t)st->d * st->frag_len))) {
        rc = HS_ENOMEM;
        goto out;
    }
    if ((rc = hs__stripe_load(s, id, st, buf, false, true, NULL)) < 0 ||
        (rc = hs__packer_new(s, st->tier, &pk)) < 0) {
        if (rc == HS_EIO) { /* a lost stripe: fsck reports it */
            g->rep->errors++;
            rc = 0;
        }
        goto out;
    }
    /* Read phase: list live chunks (rev keys), pack their bytes. */
    uint8_t pfx[13];
    hs_kv_cursor_t *c;
    hs_kv_val_t key, val;
    hs__key_rev(pfx, id, 0);
    if ((rc = hs_kv_cursor_prefix(txn, pfx, 9, &c)) < 0) goto out;
    while ((rc = hs_kv_cursor_next(c, &key, &val)) == 0) {
        hs__chunk_rec_t cr;
        if (val.len != 32 || hs__get_chunk(txn, val.data, &cr) < 0 || cr.stripe != id) continue;
        if ((uint64_t)cr.off + cr.stored_len > (uint64_t)st->d * st->frag_len) {
            rc = HS_ECORRUPT;
            break;
        }
        if (nm == cm) {
            cm = cm ? cm * 2 : 64;
            hs__packed_t *nmv = realloc(moved, cm * sizeof(*nmv));
            if (!nmv) {
                rc = HS_ENOMEM;
                break;
            }
            moved = nmv;
        }
        memcpy(moved[nm].hash, val.data, 32);
        uint8_t *raw = malloc(cr.raw_len ? cr.raw_len : 1);
        if (!raw) {
            rc = HS_ENOMEM;
            break;
        }
        rc = hs__chunk_raw(&cr, buf, raw);
        if (rc == 0) rc = hs__packer_add(pk, moved[nm].hash, raw, cr.raw_len, &moved[nm].rec);
        free(raw);
        if (rc < 0) break;
        nm++;
    }
    hs_kv_cursor_close(c);
    if (rc == HS_ECORRUPT) { /* a chunk record that does not fit: fsck reports it */
        g->rep->errors++;
        rc = 0;
        goto out;
    }
    if (rc != HS_EOF) goto out;
    hs_kv_txn_abort(txn);
    txn = NULL;
    free(buf);
    buf = NULL;
    if ((rc = hs__packer_flush(pk)) < 0) goto out;
    /* Commit phase. */
    if ((rc = hs_kv_txn_begin(s->kv, 0, &txn)) < 0) goto out;
    uint64_t *ids;
    hs__stripe_rec_t *recs;
    size_t ns = hs__packer_stripes(pk, &ids, &recs);
    for (size_t i = 0; i < ns; i++)
        recs[i].live_chunks = 0, recs[i].live_bytes = 0;
    for (size_t i = 0; i < nm && rc == 0; i++) {
        hs__chunk_rec_t cr;
        if (hs__get_chunk(txn, moved[i].hash, &cr) < 0 || cr.stripe != id) continue;
        rc = hs__chunk_repoint(txn, moved[i].hash, &cr, &moved[i].rec, ids, recs, ns);
    }
    if (rc == 0) rc = hs__put_moved_stripes(txn, ids, recs, ns);
    uint32_t left = 0;
    uint64_t left_bytes = 0;
    if (rc == 0) rc = stripe_live(txn, id, &left, &left_bytes);
    if (rc == 0 && hs__get_stripe(txn, id, st) == 0) {
        uint8_t sk[9], gk[9], gv[HS__STRIPE_REC_LEN];
        if (left == 0) {
            hs__stripe_enc(gv, st);
            rc = hs_kv_del(txn, sk, hs__key_stripe(sk, id));
            if (rc == 0) rc = hs_kv_put(txn, gk, hs__key_garbage(gk, id), gv, sizeof(gv));
        } else {
            st->live_chunks = left;
            st->live_bytes = left_bytes;
            rc = hs__put_stripe(txn, id, st);
        }
    }
    if (rc == 0) {
        rc = hs_kv_txn_commit(txn);
        if (rc == 0 && left == 0) g->rep->stripes_compacted++;
    } else {
        hs_kv_txn_abort(txn);
    }
    txn = NULL;
out:
    if (txn) hs_kv_txn_abort(txn);
    free(buf);
    free(moved);
    hs__packer_free(pk);
    return rc;
}

/* Compacts the stripes less than half live, each under its own shared
 * lock (see compact_one). */
static int gc_compact(gc_run_t *g)
{
    stripe_ent_t *a = NULL;
    size_t n;
    int rc = list_stripes(g->s, &a, &n);
    if (rc < 0) return rc;
    for (size_t k = 0; k < n && rc == 0; k++) {
        if (a[k].rec.live_bytes * 2 >= a[k].rec.data_len) continue;
        if ((rc = step_lock(g, false)) < 0) break;
        rc = compact_one(g, a[k].id);
        step_unlock(g);
        gc_progress(g, "gc-compact", k + 1, n);
    }
    free(a);
    return rc;
}

int hs_objects_gc(hs_objects_t *s, const hs_obj_maint_opts_t *opts, hs_obj_report_t *rep)
{
    hs_obj_report_t dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof(*rep));
    gc_run_t g = {.s = s, .o = opts, .rep = rep, .stepped = true, .lk = -1,
                  .nonblock = opts && opts->nonblock};
    int rc = gc_zero(&g);
    if (rc == 0) rc = gc_compact(&g);
    if (rc == 0) rc = gc_garbage(&g);
    if (rc == 0) rc = gc_orphans(&g, true);
    hs_log_debug("objects_gc",
                 "chunks_freed=%llu stripes_compacted=%llu stripes_freed=%llu orphans_removed=%llu "
                 "steps=%llu max_hold_us=%llu rc=%s",
                 (unsigned long long)rep->chunks_freed, (unsigned long long)rep->stripes_compacted,
                 (unsigned long long)rep->stripes_freed, (unsigned long long)rep->orphans_removed,
                 (unsigned long long)g.steps, (unsigned long long)(g.max_hold_ns / 1000),
                 rc < 0 ? hs_errname(rc) : "ok");
    return rc;
}

/* A refcount fsck found wrong: what the snapshot held, and the truth. */
typedef struct fix {
    uint8_t hash[32];
    uint64_t seen, refs;
} fix_t;

/* Writes the recounted refcounts, GC_STEP_ITEMS per transaction so that
 * puts' commits queue behind none for long. It needs only the shared
 * lock: raising a refcount cannot hurt a put, and one lowered to 0 is
 * freed later by gc_zero, which re-checks it under the exclusive lock.
 * Holding the shared lock since the snapshot also means no gc freed a
 * chunk whose count was too low in between. Puts and deletes did run
 * since the snapshot: a chunk whose refcount is no longer the one seen
 * was changed by one of them (or by another fsck) and is left alone,
 * counted in *moved, since setting it from the snapshot could undo that
 * change. One whose refcount is unchanged has unchanged truth too (a put
 * or delete moves both in one transaction), so it is set. */
static int fsck_fix_refs(gc_run_t *g, const fix_t *fixes, size_t nfix, uint64_t *moved)
{
    int rc = 0;
    for (size_t i = 0; i < nfix && rc == 0;) {
        hs_kv_txn_t *txn;
        if ((rc = step_lock(g, true)) < 0) break;
        if ((rc = hs_kv_txn_begin(g->s->kv, 0, &txn)) < 0) {
            step_unlock(g);
            break;
        }
        for (size_t items = 0; i < nfix && rc == 0 && !step_full(g, items); items++, i++) {
            hs__chunk_rec_t cr;
            if (hs__get_chunk(txn, fixes[i].hash, &cr) < 0) continue;
            if (cr.refs != fixes[i].seen) {
                (*moved)++;
                continue;
            }
            cr.refs = fixes[i].refs;
            rc = hs__put_chunk(txn, fixes[i].hash, &cr);
            if (rc == 0 && cr.refs == 0) {
                uint8_t zk[33];
                rc = hs_kv_put(txn, zk, hs__key_zero(zk, fixes[i].hash), "", 0);
            }
        }
        if (rc == 0)
            rc = hs_kv_txn_commit(txn);
        else
            hs_kv_txn_abort(txn);
        step_unlock(g);
        gc_progress(g, "fsck-refs", i, nfix);
    }
    return rc;
}

int hs_objects_fsck(hs_objects_t *s, const hs_obj_maint_opts_t *opts, hs_obj_report_t *rep)
{
    hs_obj_maint_opts_t none = {0};
    const hs_obj_maint_opts_t *o = opts ? opts : &none;
    hs_obj_report_t dummy;
    refmap_t refs = {0};
    stripe_ent_t *a = NULL;
    size_t n = 0;
    hs_kv_txn_t *txn = NULL;
    hs_kv_cursor_t *c;
    hs_kv_val_t k, v;
    uint8_t pfx;
    uint64_t problems = 0;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof(*rep));
    /* Shared: puts and reads go on. A put commits its chunks, refcounts
     * and manifest in one transaction, so the snapshot below is
     * consistent; no stripe can be freed while the lock is held (that
     * needs it exclusive), so stripes listed after the snapshot began
     * include every stripe it names. */
    int lk = hs__lock(s, false, false);
    if (lk < 0) return lk;
    gc_run_t run = {.s = s, .o = o, .lk = -1, .stepped = true};
    fix_t *fixes = NULL;
    size_t nfix = 0, cfix = 0;
    /* 1. Recount references from the manifests. */
    int rc = hs_kv_txn_begin(s->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) goto out;
    if ((rc = list_stripes(s, &a, &n)) < 0) goto out;
    pfx = HS_K_OBJECT;
    if ((rc = hs_kv_cursor_prefix(txn, &pfx, 1, &c)) < 0) goto out;
    while ((rc = hs_kv_cursor_next(c, &k, &v)) == 0) {
        hs__manifest_t m;
        rep->objects++;
        if (hs__manifest_dec(&m, v.data, v.len) < 0) {
            rep->errors++;
            continue;
        }
        rep->bytes_logical += m.size;
        for (uint32_t i = 0; i < m.nchunks; i++) {
            refent_t *e = ref_slot(&refs, m.chunks[i].hash, true);
            if (!e) {
                rc = HS_ENOMEM;
                break;
            }
            e->count++;
        }
        hs__manifest_free(&m);
        if (rc == HS_ENOMEM) break;
    }
    hs_kv_cursor_close(c);
    if (rc != HS_EOF) goto out;
    /* 2. Every chunk: refcount, and its stripe exists and holds it. */
    pfx = HS_K_CHUNK;
    if ((rc = hs_kv_cursor_prefix(txn, &pfx, 1, &c)) < 0) goto out;
    while ((rc = hs_kv_cursor_next(c, &k, &v)) == 0) {
        hs__chunk_rec_t cr;
        if (k.len != 33 || hs__chunk_dec(&cr, v.data, v.len) < 0) {
            rep->errors++;
            continue;
        }
        rep->chunks++;
        refent_t *e = ref_slot(&refs, (const uint8_t *)k.data + 1, false);
        uint64_t want = e ? e->count : 0;
        if (e) e->seen = 1;
        if (cr.refs != want) {
            rep->refs_fixed++;
            if (nfix == cfix) {
                cfix = cfix ? cfix * 2 : 64;
                fix_t *nf = realloc(fixes, cfix * sizeof(*nf));
                if (!nf) {
                    rc = HS_ENOMEM;
                    break;
                }
                fixes = nf;
            }
            memcpy(fixes[nfix].hash, (const uint8_t *)k.data + 1, 32);
            fixes[nfix].seen = cr.refs;
            fixes[nfix++].refs = want;
        }
        stripe_ent_t *se = find_stripe(a, n, cr.stripe);
        if (!se || (uint64_t)cr.off + cr.stored_len > se->rec.data_len) {
            if (want > 0) {
                rep->chunks_missing++;
            }
            continue;
        }
        se->live_chunks++;
        se->live_bytes += cr.stored_len;
    }
    hs_kv_cursor_close(c);
    hs_kv_txn_abort(txn);
    txn = NULL;
    if (rc != HS_EOF) goto out;
    rc = 0;
    for (size_t i = 0; i < refs.cap; i++)
        if (refs.t[i].used && !refs.t[i].seen) rep->chunks_missing++;
    /* 3. Fragments of every stripe (rewritten under the shared lock, as
     * heal does). */
    if ((rc = check_stripes(s, a, n, o, "fsck", o->verify_data, o->repair, rep)) < 0) goto out;
    if (!o->repair) {
        gc_run_t count = {.s = s, .rep = rep, .lk = -1};
        rc = gc_orphans(&count, false);
        goto done;
    }
    /* 4. Refcounts, still under the shared lock. A refcount above the
     * truth only delays reclamation; one below it could free a live chunk:
     * both are fixed, only the latter is damage. */
    gc_run_t fixrun = {.s = s, .o = o, .lk = -1};
    uint64_t moved = 0;
    if ((rc = fsck_fix_refs(&fixrun, fixes, nfix, &moved)) < 0) goto out;
    hs__unlock(lk);
    lk = -1;
    /* 5. Orphans and pending garbage: gc's steps. */
    hs_obj_report_t g = {0};
    run.rep = &g;
    if ((rc = gc_zero(&run)) == 0 && (rc = gc_garbage(&run)) == 0) rc = gc_orphans(&run, true);
    rep->orphans = g.orphans;
    rep->orphans_removed = g.orphans_removed;
    rep->chunks_freed = g.chunks_freed;
    rep->stripes_freed = g.stripes_freed;
    rep->bytes_freed = g.bytes_freed;
    /* a chunk that changed since the snapshot was left alone: run again */
    problems += moved;
done:
    problems += rep->chunks_missing + rep->stripes_lost + rep->errors;
    if (!o->repair)
        problems += rep->frags_missing + rep->frags_corrupt + rep->refs_fixed;
    else
        problems += (rep->frags_missing + rep->frags_corrupt > rep->frags_rebuilt);
out:
    if (txn) hs_kv_txn_abort(txn);
    if (run.lk >= 0) step_unlock(&run);
    free(fixes);
    free(refs.t);
    free(a);
    if (lk >= 0) hs__unlock(lk);
    if (o->repair)
        hs_log_debug("objects_fsck", "steps=%llu max_hold_us=%llu rc=%s",
                     (unsigned long long)run.steps, (unsigned long long)(run.max_hold_ns / 1000),
                     rc < 0 ? hs_errname(rc) : "ok");
    if (rc < 0) return rc;
    return problems ? HS_ECORRUPT : 0;
}
