/*
 * Memory tier of the edge cache (see mem.h). A hash table maps a URL's
 * primary key to a node holding its Vary list and its variants; every
 * variant sits in one SIEVE queue. SIEVE (Zhang et al., NSDI 2024) keeps
 * a FIFO with one "visited" bit per object and a hand that walks from the
 * oldest end: visited objects get their bit cleared and stay, the first
 * unvisited one is evicted. A hit only sets a bit (no list surgery), and
 * objects seen once leave quickly, which resists scans.
 *
 * Large bodies move into sealed memfds at insert: a hit then sends them
 * with sendfile, which costs a fraction of writev's copy into cold socket
 * buffers, while readers (ranges, the disk tier's writer) use a read-only
 * mapping. Each costs an fd and a mapping, so a process-wide cap bounds
 * them; past it bodies stay on the heap.
 */
#include "edge/mem.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/metrics.h"
#include "core/str.h"
#include "edge/policy.h"

typedef struct prim {
    struct prim *hnext;
    uint64_t hash;
    hs_edge_obj_t *variants;
    unsigned nvariants;
    char vary[HS_EDGE_VARY_MAX];
    size_t vary_len;
    size_t keylen;
    char key[];
} prim_t;

struct hs_edge_mem {
    uint64_t max_bytes, bytes, count, evictions;
    prim_t **buckets;
    size_t nbuckets, nprims;
    hs_edge_obj_t *head, *tail, *hand; /* head: newest */
    void (*on_remove)(void *arg, hs_edge_obj_t *o);
    void *on_remove_arg;
    hs_counter_t *m_evictions;
    hs_gauge_t *m_bytes, *m_objects;
};

/* ---- memfd bodies ---- */

static atomic_uint memfd_n;
static char body_dir[4096]; /* set before workers start; "" = memfds */
static atomic_int memfd_cap_v = -1; /* -1: not derived yet */
static _Atomic(hs_gauge_t *) m_memfd;

/* Each body holds an fd and a VMA. A quarter of RLIMIT_NOFILE leaves the
 * rest to sockets and disk-tier files; 8192 mappings stay far below
 * vm.max_map_count (65530 by default) whatever else the process maps, and
 * already cover 128 MiB to GiBs of large bodies. */
static unsigned default_cap(void)
{
    struct rlimit rl;
    unsigned cap = HS_EDGE_MEMFD_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 4 < cap)
        cap = (unsigned)(rl.rlim_cur / 4);
    return cap;
}

unsigned hs_edge_memfd_cap(void)
{
    int c = atomic_load_explicit(&memfd_cap_v, memory_order_relaxed);
    if (c >= 0)
        return (unsigned)c;
    int d = (int)default_cap();
    if (!atomic_compare_exchange_strong(&memfd_cap_v, &c, d))
        return (unsigned)c; /* another thread set it first */
    return (unsigned)d;
}

void hs_edge_memfd_set_cap(unsigned cap)
{
    atomic_store(&memfd_cap_v, cap > INT32_MAX ? INT32_MAX : (int)cap);
}

/* Half of RLIMIT_NOFILE: an operator may give memfds more of the fd table
 * than the automatic quarter, but never so much that accept() and the disk
 * tier start failing with EMFILE. */
unsigned hs_edge_memfd_configure(uint64_t want)
{
    if (want == 0) {
        atomic_store(&memfd_cap_v, -1); /* derived again at next use */
        return hs_edge_memfd_cap();
    }
    uint64_t lim = INT32_MAX;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 2 < lim)
        lim = rl.rlim_cur / 2;
    unsigned cap = (unsigned)(want < lim ? want : lim);
    hs_edge_memfd_set_cap(cap);
    return cap;
}

/* An unlinked file in body_dir, or a sealable memfd. */
static int body_fd(void)
{
    if (body_dir[0])
        return open(body_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    return memfd_create("hs-edge-body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

int hs_edge_body_dir_set(const char *dir)
{
    if (!dir || !dir[0]) {
        body_dir[0] = '\0';
        return 0;
    }
    if (strlen(dir) >= sizeof(body_dir))
        return HS_EINVAL;
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return HS_ERR(errno);
    close(fd);
    snprintf(body_dir, sizeof(body_dir), "%s", dir);
    return 0;
}

unsigned hs_edge_memfd_count(void)
{
    return atomic_load(&memfd_n);
}

static void memfd_put(void)
{
    atomic_fetch_sub(&memfd_n, 1);
    hs_gauge_t *g = atomic_load_explicit(&m_memfd, memory_order_relaxed);
    if (g)
        hs_gauge_add(g, -1);
}

int hs_edge_obj_to_memfd(hs_edge_obj_t *o)
{
    if (o->body_kind != HS_EDGE_BODY_HEAP || o->body_in_file || !o->body || o->size == 0)
        return HS_EINVAL;
    if (atomic_fetch_add(&memfd_n, 1) >= hs_edge_memfd_cap()) {
        atomic_fetch_sub(&memfd_n, 1);
        return HS_ELIMIT;
    }
    int rc = 0;
    int fd = body_fd();
    if (fd < 0) {
        rc = HS_ERR(errno);
        goto fail;
    }
    for (uint64_t done = 0; done < o->size;) {
        ssize_t w = pwrite(fd, o->body + done, (size_t)(o->size - done), (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? HS_ERR(errno) : HS_EIO;
            goto fail;
        }
        done += (uint64_t)w;
    }
    /* Sealed, nothing can change or truncate the bytes under a response's
     * framing; best effort (files in body_dir cannot be sealed), the fd
     * never leaves this process and the file has no name anyway. */
    if (!body_dir[0])
        (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    void *map = mmap(NULL, (size_t)o->size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rc = HS_ERR(errno);
        goto fail;
    }
    free(o->body);
    o->body = map;
    o->body_kind = HS_EDGE_BODY_MEMFD;
    o->body_memfd = fd;
    hs_gauge_t *g = atomic_load_explicit(&m_memfd, memory_order_relaxed);
    if (g)
        hs_gauge_add(g, 1);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    atomic_fetch_sub(&memfd_n, 1);
    return rc;
}

/* ---- objects ---- */

hs_edge_obj_t *hs_edge_obj_new(void)
{
    hs_edge_obj_t *o = calloc(1, sizeof(*o));
    if (o)
        o->refs = 1;
    return o;
}

void hs_edge_obj_ref(hs_edge_obj_t *o)
{
    o->refs++;
}

void hs_edge_obj_unref(hs_edge_obj_t *o)
{
    assert(o->refs > 0);
    if (--o->refs)
        return;
    assert(!o->cached);
    free(o->hdr);
    if (o->body_kind == HS_EDGE_BODY_MEMFD) {
        /* Pages still queued in socket buffers are held by the kernel, so
         * closing here never pulls bytes from under a send. */
        munmap(o->body, (size_t)o->size);
        close(o->body_memfd);
        memfd_put();
    } else {
        free(o->body);
    }
    if (o->body_in_file)
        close(o->body_fd);
    free(o->sec);
    free(o->tags);
    free(o);
}

void hs_edge_obj_release(void *o)
{
    hs_edge_obj_unref(o);
}

void hs_edge_obj_index(hs_edge_obj_t *o)
{
    o->etag = o->last_modified = o->content_type = HS_STR_NULL;
    o->accept_ranges = false;
    if (!o->hdr)
        return;
    const char *p = o->hdr, *end = o->hdr + o->hdr_len;
    while (p && p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            hs_str_t name = {p, (size_t)(colon - p)};
            hs_str_t val = hs_str_trim_ows((hs_str_t){colon + 1, (size_t)(eol - colon - 1)});
            if (HS_STR_IEQ(name, "etag"))
                o->etag = val;
            else if (HS_STR_IEQ(name, "last-modified"))
                o->last_modified = val;
            else if (HS_STR_IEQ(name, "content-type"))
                o->content_type = val;
            else if (HS_STR_IEQ(name, "accept-ranges"))
                o->accept_ranges = true;
        }
        p = eol + 2;
    }
}

static uint64_t obj_charge(const hs_edge_obj_t *o, size_t keylen)
{
    return sizeof(*o) + o->hdr_len + o->size + o->sec_len + o->tags_len + keylen + 64;
}

/* ---- table ---- */

static uint64_t key_hash(hs_str_t key)
{
    return XXH3_64bits(key.base, key.len);
}

static prim_t *prim_find(hs_edge_mem_t *m, hs_str_t key, uint64_t h)
{
    for (prim_t *p = m->buckets[h & (m->nbuckets - 1)]; p; p = p->hnext)
        if (p->hash == h && p->keylen == key.len && memcmp(p->key, key.base, key.len) == 0)
            return p;
    return NULL;
}

static void grow(hs_edge_mem_t *m)
{
    size_t n = m->nbuckets * 2;
    prim_t **b = calloc(n, sizeof(*b));
    if (!b)
        return; /* keep the longer chains */
    for (size_t i = 0; i < m->nbuckets; i++) {
        prim_t *p = m->buckets[i];
        while (p) {
            prim_t *next = p->hnext;
            p->hnext = b[p->hash & (n - 1)];
            b[p->hash & (n - 1)] = p;
            p = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

static void prim_unlink_free(hs_edge_mem_t *m, prim_t *p)
{
    prim_t **pp = &m->buckets[p->hash & (m->nbuckets - 1)];
    while (*pp != p)
        pp = &(*pp)->hnext;
    *pp = p->hnext;
    m->nprims--;
    free(p);
}

/* ---- SIEVE queue ---- */

static void q_push(hs_edge_mem_t *m, hs_edge_obj_t *o)
{
    o->qprev = NULL;
    o->qnext = m->head;
    if (m->head)
        m->head->qprev = o;
    m->head = o;
    if (!m->tail)
        m->tail = o;
}

static void q_unlink(hs_edge_mem_t *m, hs_edge_obj_t *o)
{
    if (m->hand == o)
        m->hand = o->qprev;
    if (o->qprev)
        o->qprev->qnext = o->qnext;
    else
        m->head = o->qnext;
    if (o->qnext)
        o->qnext->qprev = o->qprev;
    else
        m->tail = o->qprev;
    o->qprev = o->qnext = NULL;
}

/* Unlinks o from its URL and the queue and drops the tier's reference. */
static void obj_remove(hs_edge_mem_t *m, hs_edge_obj_t *o)
{
    prim_t *p = o->prim;
    hs_edge_obj_t **pp = &p->variants;
    while (*pp != o)
        pp = &(*pp)->vnext;
    *pp = o->vnext;
    o->vnext = NULL;
    p->nvariants--;
    q_unlink(m, o);
    m->bytes -= o->charge;
    m->count--;
    o->cached = false;
    o->prim = NULL;
    hs_gauge_add(m->m_bytes, -(int64_t)o->charge);
    hs_gauge_add(m->m_objects, -1);
    if (p->nvariants == 0)
        prim_unlink_free(m, p);
    if (m->on_remove)
        m->on_remove(m->on_remove_arg, o);
    hs_edge_obj_unref(o);
}

void hs_edge_mem_on_remove(hs_edge_mem_t *m, void (*cb)(void *arg, hs_edge_obj_t *o), void *arg)
{
    m->on_remove = cb;
    m->on_remove_arg = arg;
}

static void evict_one(hs_edge_mem_t *m)
{
    hs_edge_obj_t *o = m->hand ? m->hand : m->tail;
    while (o->visited) {
        o->visited = false;
        o = o->qprev ? o->qprev : m->tail;
    }
    m->hand = o->qprev;
    m->evictions++;
    hs_counter_inc(m->m_evictions);
    obj_remove(m, o);
}

/* ---- public ---- */

hs_edge_mem_t *hs_edge_mem_new(uint64_t max_bytes)
{
    return hs_edge_mem_new_tier(max_bytes, "memory");
}

hs_edge_mem_t *hs_edge_mem_new_tier(uint64_t max_bytes, const char *tier)
{
    hs_edge_mem_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    char l[64];
    snprintf(l, sizeof(l), "tier=\"%s\"", tier);
    m->m_evictions =
        hs_counter("hs_edge_evictions_total", l, "objects evicted from a cache tier to make room");
    m->m_bytes = hs_gauge("hs_edge_cache_bytes", l, "bytes held by a cache tier");
    m->m_objects = hs_gauge("hs_edge_cache_objects", l, "objects held by a cache tier");
    if (!atomic_load(&m_memfd))
        atomic_store(&m_memfd, hs_gauge("hs_edge_memfd_bodies", NULL,
                                        "memory-tier bodies held in memfds (sent with sendfile)"));
    m->max_bytes = max_bytes;
    m->nbuckets = 1024;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void hs_edge_mem_free(hs_edge_mem_t *m)
{
    if (!m)
        return;
    while (m->tail)
        obj_remove(m, m->tail);
    free(m->buckets);
    free(m);
}

hs_edge_obj_t *hs_edge_mem_lookup(hs_edge_mem_t *m, hs_str_t key, const hs_http_msg_t *req)
{
    prim_t *p = prim_find(m, key, key_hash(key));
    if (!p)
        return NULL;
    char sec[HS_EDGE_SECONDARY_MAX];
    int n = 0;
    if (p->vary_len) {
        n = hs_edge_vary_key((hs_str_t){p->vary, p->vary_len}, req, sec, sizeof(sec));
        if (n < 0)
            return NULL;
    }
    for (hs_edge_obj_t *o = p->variants; o; o = o->vnext) {
        if (o->sec_len == (size_t)n && (n == 0 || memcmp(o->sec, sec, (size_t)n) == 0)) {
            o->visited = true;
            o->refs++;
            return o;
        }
    }
    return NULL;
}

int hs_edge_mem_insert(hs_edge_mem_t *m, hs_str_t key, hs_str_t vary, hs_str_t sec,
                       hs_edge_obj_t *o)
{
    assert(!o->cached);
    if (o->body_in_file)
        return HS_ENOTSUP; /* an open file per object would not be bounded */
    if (vary.len >= HS_EDGE_VARY_MAX || sec.len > HS_EDGE_SECONDARY_MAX)
        return HS_E2BIG;
    free(o->sec);
    o->sec = NULL;
    o->sec_len = 0;
    if (sec.len) {
        if (!(o->sec = malloc(sec.len)))
            return HS_ENOMEM;
        memcpy(o->sec, sec.base, sec.len);
        o->sec_len = sec.len;
    }
    uint64_t charge = obj_charge(o, key.len);
    if (charge > m->max_bytes)
        return HS_E2BIG;
    if (o->body_kind == HS_EDGE_BODY_HEAP && o->size >= HS_EDGE_MEMFD_MIN)
        (void)hs_edge_obj_to_memfd(o); /* on failure the heap body serves as before */
    uint64_t h = key_hash(key);
    prim_t *p = prim_find(m, key, h);
    if (p) {
        if (p->vary_len != vary.len ||
            (vary.len && memcmp(p->vary, vary.base, vary.len) != 0)) {
            /* The URL's responses now vary differently: older variants can
             * no longer be selected correctly. */
            while (p->variants && p->nvariants > 1)
                obj_remove(m, p->variants);
            obj_remove(m, p->variants); /* the last one: frees p, start over below */
            p = NULL;
        } else {
            for (hs_edge_obj_t *v = p->variants; v; v = v->vnext) {
                if (v->sec_len == o->sec_len &&
                    (o->sec_len == 0 || memcmp(v->sec, o->sec, o->sec_len) == 0)) {
                    obj_remove(m, v);
                    break;
                }
            }
            p = prim_find(m, key, h); /* removal may have freed it */
            if (p && p->nvariants >= HS_EDGE_MAX_VARIANTS) {
                hs_edge_obj_t *oldest = p->variants;
                while (oldest->vnext)
                    oldest = oldest->vnext;
                obj_remove(m, oldest);
            }
        }
    }
    while (m->tail && m->bytes + charge > m->max_bytes)
        evict_one(m);
    p = prim_find(m, key, h); /* eviction may have freed it */
    if (!p) {
        p = calloc(1, sizeof(*p) + key.len);
        if (!p)
            return HS_ENOMEM;
        p->hash = h;
        p->keylen = key.len;
        memcpy(p->key, key.base, key.len);
        if (vary.len)
            memcpy(p->vary, vary.base, vary.len);
        p->vary_len = vary.len;
        if (m->nprims >= m->nbuckets)
            grow(m);
        p->hnext = m->buckets[h & (m->nbuckets - 1)];
        m->buckets[h & (m->nbuckets - 1)] = p;
        m->nprims++;
    }
    o->prim = p;
    o->vnext = p->variants; /* newest first */
    p->variants = o;
    p->nvariants++;
    o->charge = charge;
    o->cached = true;
    o->visited = false;
    o->refs++;
    q_push(m, o);
    m->bytes += charge;
    m->count++;
    hs_gauge_add(m->m_bytes, (int64_t)charge);
    hs_gauge_add(m->m_objects, 1);
    return 0;
}

void hs_edge_mem_recharge(hs_edge_mem_t *m, hs_edge_obj_t *o)
{
    if (!o->cached)
        return;
    prim_t *p = o->prim;
    uint64_t c = obj_charge(o, p->keylen);
    m->bytes = m->bytes - o->charge + c;
    hs_gauge_add(m->m_bytes, (int64_t)c - (int64_t)o->charge);
    o->charge = c;
    o->refs++; /* eviction below must not free it under the caller */
    while (m->tail && m->bytes > m->max_bytes)
        evict_one(m);
    hs_edge_obj_unref(o);
}

void hs_edge_mem_remove(hs_edge_mem_t *m, hs_edge_obj_t *o)
{
    if (o->cached)
        obj_remove(m, o);
}

unsigned hs_edge_mem_invalidate(hs_edge_mem_t *m, hs_str_t key)
{
    prim_t *p = prim_find(m, key, key_hash(key));
    unsigned n = 0;
    while (p) {
        bool last = p->nvariants == 1;
        obj_remove(m, p->variants);
        n++;
        if (last)
            break;
    }
    return n;
}

bool hs_edge_tags_has(hs_str_t tags, hs_str_t tag)
{
    size_t i = 0;
    while (i < tags.len) {
        while (i < tags.len && tags.base[i] == ' ')
            i++;
        size_t s = i;
        while (i < tags.len && tags.base[i] != ' ')
            i++;
        if (i > s && i - s == tag.len && memcmp(tags.base + s, tag.base, tag.len) == 0)
            return true;
    }
    return false;
}

static void purge_one(hs_edge_mem_t *m, hs_edge_obj_t *o, bool soft)
{
    if (soft)
        o->meta.lifetime = 0; /* stale from now on: the next use revalidates */
    else
        obj_remove(m, o);
}

unsigned hs_edge_mem_purge(hs_edge_mem_t *m, hs_edge_purge_kind_t kind, hs_str_t arg, bool soft)
{
    unsigned n = 0;
    if (kind == HS_EDGE_PURGE_URL) {
        prim_t *p = prim_find(m, arg, key_hash(arg));
        for (hs_edge_obj_t *o = p ? p->variants : NULL, *next; o; o = next) {
            next = o->vnext;
            purge_one(m, o, soft); /* the last removal frees p; next is NULL then */
            n++;
        }
        return n;
    }
    if (kind == HS_EDGE_PURGE_TAG && arg.len == 0)
        return 0;
    /* The queue holds every object once; removal only unlinks the current one. */
    for (hs_edge_obj_t *o = m->head, *next; o; o = next) {
        next = o->qnext;
        bool hit;
        if (kind == HS_EDGE_PURGE_PREFIX) {
            const prim_t *p = o->prim;
            hit = p->keylen >= arg.len && (arg.len == 0 || memcmp(p->key, arg.base, arg.len) == 0);
        } else {
            hit = o->tags && hs_edge_tags_has((hs_str_t){o->tags, o->tags_len}, arg);
        }
        if (hit) {
            purge_one(m, o, soft);
            n++;
        }
    }
    return n;
}

uint64_t hs_edge_mem_bytes(const hs_edge_mem_t *m)
{
    return m->bytes;
}

uint64_t hs_edge_mem_count(const hs_edge_mem_t *m)
{
    return m->count;
}

uint64_t hs_edge_mem_evictions(const hs_edge_mem_t *m)
{
    return m->evictions;
}
