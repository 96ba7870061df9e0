/*
 * Functions shared by the files of src/objects (hs__ prefix): record
 * encoding, fragment files, locking, codecs, stripe loading and repair.
 */
#ifndef HS_OBJECTS_INTERNAL_H
#define HS_OBJECTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/metrics.h"
#include "objects/internal-t.h"
#include "store/kv.h"

/* Counts into a metric that may be NULL (registration failed). */
static inline void hs__count(hs_counter_t *c, uint64_t n)
{
    if (c) hs_counter_add(c, n);
}

/* ---- meta.c: keys and records ---- */
size_t hs__key_chunk(uint8_t *k, const uint8_t hash[32]);
size_t hs__key_stripe(uint8_t *k, uint64_t id);
size_t hs__key_rev(uint8_t *k, uint64_t id, uint32_t off);
size_t hs__key_zero(uint8_t *k, const uint8_t hash[32]);
size_t hs__key_garbage(uint8_t *k, uint64_t id);
/* 'o' + name into k (cap >= HS_OBJ_NAME_MAX + 1); HS_EINVAL if too long/empty. */
int hs__key_object(uint8_t *k, const char *name, size_t *klen);

#define HS__CHUNK_REC_LEN 32
#define HS__STRIPE_REC_LEN 40
void hs__chunk_enc(uint8_t *b, const hs__chunk_rec_t *r);
int hs__chunk_dec(hs__chunk_rec_t *r, const void *b, size_t len);
void hs__stripe_enc(uint8_t *b, const hs__stripe_rec_t *r);
int hs__stripe_dec(hs__stripe_rec_t *r, const void *b, size_t len);
/* Manifest: enc returns a malloc'd buffer; dec allocates m->chunks. */
int hs__manifest_enc(const hs__manifest_t *m, uint8_t **out, size_t *len);
int hs__manifest_dec(hs__manifest_t *m, const void *b, size_t len);
void hs__manifest_free(hs__manifest_t *m);
void hs__manifest_info(const hs__manifest_t *m, hs_obj_info_t *info);

/* Reads chunk / stripe records in txn. HS_ENOENT if absent. */
int hs__get_chunk(hs_kv_txn_t *txn, const uint8_t hash[32], hs__chunk_rec_t *r);
int hs__get_stripe(hs_kv_txn_t *txn, uint64_t id, hs__stripe_rec_t *r);
int hs__put_chunk(hs_kv_txn_t *txn, const uint8_t hash[32], const hs__chunk_rec_t *r);
int hs__put_stripe(hs_kv_txn_t *txn, uint64_t id, const hs__stripe_rec_t *r);

/* Chunks moved to new stripes (gc compaction, tier moves), in the commit
 * of the move. hs__chunk_raw: chunk c's raw bytes from its stripe's data
 * buf (as hs__stripe_load fills it) into out (c->raw_len bytes);
 * HS_ECORRUPT when a compressed chunk does not decode to its length.
 * hs__chunk_repoint: points chunk hash, recorded now as *cur, at *rec (its
 * place in one of a packer's stripes ids/recs, n of them), keeping cur's
 * reference count, moving its reverse entry and adding it to that
 * stripe's live totals (zero them before the first call).
 * hs__put_moved_stripes: writes those stripe records; a stripe no chunk
 * ended up in (every one moved on meanwhile) is garbage from the start. */
int hs__chunk_raw(const hs__chunk_rec_t *c, const uint8_t *buf, uint8_t *out);
int hs__chunk_repoint(hs_kv_txn_t *txn, const uint8_t hash[32], const hs__chunk_rec_t *cur,
                      hs__chunk_rec_t *rec, const uint64_t *ids, hs__stripe_rec_t *recs,
                      size_t n);
int hs__put_moved_stripes(hs_kv_txn_t *txn, const uint64_t *ids, const hs__stripe_rec_t *recs,
                          size_t n);

/* Drops one reference of each chunk of m in txn (chunks reaching 0 are
 * queued with a 'z' key for gc). */
int hs__deref_manifest(hs_kv_txn_t *txn, const hs__manifest_t *m);

/* ---- frag.c: fragment files ---- */
/* CRC32C (Castagnoli, ISA-L) of n bytes, the per-block checksum. */
uint32_t hs__crc32c(const void *p, size_t n);
typedef struct hs__frag_hdr {
    uint64_t stripe;
    uint8_t index, d, p, tier;
    uint32_t frag_len, block_size, nblocks, data_len;
    uint32_t hdr_len;
    uint32_t *crcs; /* nblocks entries, owned */
} hs__frag_hdr_t;

void hs__frag_path(char *buf, size_t cap, const char *drive, uint64_t stripe, int index);
/* Drive directory that holds fragment i of a stripe. */
const char *hs__frag_drive(const hs_objects_t *s, const hs__stripe_rec_t *st, int i);
/* Writes a fragment file (header + payload). atomic: via a temp file,
 * fsynced and renamed (repairs); otherwise written in place and its
 * writeback started (new stripes; the caller syncs before commit). */
int hs__frag_write(const char *path, uint64_t stripe, int index, const hs__stripe_rec_t *st,
                   const uint8_t *payload, bool atomic);
/* Opens a fragment and checks its header against the stripe. Returns an
 * fd and fills h (free with hs__frag_hdr_free), or HS_ENOENT/HS_ECORRUPT. */
int hs__frag_open(const char *path, uint64_t stripe, int index, const hs__stripe_rec_t *st,
                  hs__frag_hdr_t *h);
void hs__frag_hdr_free(hs__frag_hdr_t *h);
/* Pure parsers of a fragment header (fuzzed): the fixed 64 bytes (magic,
 * version, self-consistent geometry), and the whole header (plus its CRC
 * and the block CRC table, allocated in h). HS_ECORRUPT if invalid. */
int hs__frag_hdr_parse_fixed(const uint8_t *fixed, size_t len, hs__frag_hdr_t *h);
int hs__frag_hdr_parse(const uint8_t *buf, size_t len, hs__frag_hdr_t *h);
/* Reads payload blocks [b0, b1) into buf, verifying each block's CRC.
 * Returns bytes read, or HS_ECORRUPT / HS_EIO. */
long hs__frag_read_blocks(int fd, const hs__frag_hdr_t *h, uint32_t b0, uint32_t b1, uint8_t *buf);
/* Whether byte off of a file is in the page cache (a non-blocking 1-byte
 * read). Readers probe the end of a fragment and skip the readahead hint
 * when it is cached: the hint's page-cache walk costs more. */
bool hs__frag_cached(int fd, uint64_t off);
/* fsyncs a file or directory by path (0 if it does not exist and
 * missing_ok). */
int hs__fsync_path(const char *path, bool missing_ok);

/* ---- store.c ---- */
/* A shared (puts, reads, heal) or exclusive (gc) lock on the store across
 * threads and processes. Returns an fd to pass to unlock, or an error;
 * nonblock: HS_EBUSY instead of waiting. */
int hs__lock(hs_objects_t *s, bool exclusive, bool nonblock);
void hs__unlock(int fd);
/* The codec for (d, p), created on first use; never NULL unless ENOMEM. */
const hs_ec_t *hs__ec(hs_objects_t *s, int d, int p);
hs__geom_t hs__tier_geom(const hs_objects_t *s, int tier);
uint64_t hs__now_ns(void);
uint64_t hs__random_id(void);

/* ---- get.c ---- */
/*
 * Loads the stripe's data (d * frag_len bytes) into buf, verifying every
 * block; bad or missing fragments are rebuilt from the others, and with
 * repair rewritten on disk. rep (may be NULL) counts what was found.
 * Returns 0, HS_EIO (too few good fragments) or an error.
 */
int hs__stripe_load(hs_objects_t *s, uint64_t id, const hs__stripe_rec_t *st, uint8_t *buf,
                    bool all_frags, bool repair, hs_obj_report_t *rep);
/* Reads one chunk's raw bytes into a malloc'd buffer (*out, raw_len). */
int hs__chunk_read(hs_objects_t *s, const hs__chunk_rec_t *c, uint8_t **out);

/* ---- ahead.c: read-ahead workers of one sequential reader ---- */
typedef struct hs__ahead hs__ahead_t;
/* Starts the workers of one reader. HS_EBUSY when the store's readers
 * already hold their bound of workers (the reader reads alone). */
int hs__ahead_new(hs_objects_t *s, hs__ahead_t **out);
/* Queues a read and check of the blocks under [lo, hi) of stripe id's
 * data. HS_EBUSY when every slot is in use, HS_EINVAL for a span or a
 * stripe too large to take ahead. */
int hs__ahead_submit(hs__ahead_t *a, uint64_t id, const hs__stripe_rec_t *st, uint32_t lo,
                     uint32_t hi);
/* Waits for the earliest queued read of stripe id and hands its slot to
 * the caller: *data is the stripe's data (verified over [*lo, *hi)),
 * valid until hs__ahead_release. Reads queued before it are dropped.
 * HS_ENOENT if none was queued, or the error the read met (the caller
 * then reads the stripe itself). */
int hs__ahead_take(hs__ahead_t *a, uint64_t id, const uint8_t **data, uint32_t *lo, uint32_t *hi);
/* Gives the taken slot back. */
void hs__ahead_release(hs__ahead_t *a);
/* Stops and joins the workers, frees the slots. NULL is a no-op. */
void hs__ahead_free(hs__ahead_t *a);

/* ---- put.c: a stripe packer used by puts, tier moves and compaction ---- */
typedef struct hs__packer hs__packer_t;
typedef struct hs__packed {
    uint8_t hash[32];
    hs__chunk_rec_t rec;
} hs__packed_t;
int hs__packer_new(hs_objects_t *s, int tier, hs__packer_t **out);
/* Adds a chunk (raw bytes); compresses per tier. The location is known
 * once added: *rec gets it (refs not set). */
int hs__packer_add(hs__packer_t *pk, const uint8_t hash[32], const uint8_t *raw, uint32_t len,
                   hs__chunk_rec_t *rec);
/* Seals the open stripe and fsyncs every fragment written and the drive
 * directories; after it the packed chunks are durable. */
int hs__packer_flush(hs__packer_t *pk);
/* Stripes written: ids and records, for the commit transaction. */
size_t hs__packer_stripes(hs__packer_t *pk, uint64_t **ids, hs__stripe_rec_t **recs);
void hs__packer_free(hs__packer_t *pk);

/* ---- tier.c ---- */
/* Records an access to an object (advisory store, never fails a read). */
void hs__access_record(hs_objects_t *s, const char *name);

#endif
