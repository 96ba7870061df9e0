/*
 * The edge's disk tier: stored responses of one worker thread as files in
 * its own directory, bounded in bytes (SIEVE over an in-memory index),
 * found again after a restart. Objects are written behind the memory tier
 * (every stored object is also written), so an object evicted from memory
 * is read back from disk instead of fetched from the origin. All file
 * work runs on the I/O pool; the index lives on the loop thread.
 *
 * File format (native-endian, one file per object, named by a number): a
 * fixed header (magic, lengths, freshness state, a checksum of everything
 * after it and one of everything but the body), then key, Vary list,
 * secondary key, surrogate keys, header block and body. A file whose
 * checksums do not match is deleted when read.
 *
 * Hits: bodies under 16 KiB are read into memory; larger ones are sent from
 * their file (the object holds the descriptor). A file's body is checked
 * in full once (written by this process, or read on the pool on first use
 * after a start); later hits open it on the loop and check its header
 * checksum, and that inode, size and ctime are the ones checked, so any
 * write to the file sends it back to a full check (docs/edge.md).
 */
#ifndef HS_EDGE_DISK_H
#define HS_EDGE_DISK_H

#include "core/loop-t.h"
#include "core/tpool.h"
#include "edge/mem-t.h"
#include "http/msg-t.h"

typedef struct hs_edge_disk hs_edge_disk_t;

/*
 * A tier of max_bytes in directory `dir` (created on the pool if needed)
 * whose completions run on `loop`. The files already there are scanned on
 * the I/O pool; until the scan is applied lookups find nothing, and then
 * ready(arg) runs on the loop (at once, from here, if the scan could not
 * be queued). Returns NULL with *err set (HS_ENOMEM, HS_EINVAL for a path
 * too long).
 */
hs_edge_disk_t *hs_edge_disk_new(const char *dir, uint64_t max_bytes, hs_loop_t *loop,
                                 hs_tpool_t *pool, void (*ready)(void *arg), void *arg,
                                 int *err);

/* Frees the index (files stay). Jobs still on the pool finish on their
 * own; their completions are dropped. Call after the loop stopped. */
void hs_edge_disk_free(hs_edge_disk_t *d);

/* Writes o (a complete stored object) behind: its header block and the
 * keys are copied now, its body is referenced until the write is done.
 * Replaces the file of the same keys. Objects larger than the tier are
 * skipped. */
void hs_edge_disk_store(hs_edge_disk_t *d, hs_str_t key, hs_str_t vary, hs_str_t sec,
                        hs_edge_obj_t *o);

/* The index entry of the variant of key matching req, referenced, or NULL.
 * An entry has the object's meta and size, no body. */
hs_edge_obj_t *hs_edge_disk_lookup(hs_edge_disk_t *d, hs_str_t key, const hs_http_msg_t *req);

/* Reads and checks the whole file of index entry e on the pool. done(arg,
 * o, vary, sec) runs on the loop with the object, its Vary list and
 * secondary key (all valid during the call: take a reference to keep o),
 * or o == NULL when the file is gone or corrupt (its entry is then
 * removed). o's body is in memory, or (16 KiB and more) in its open file
 * (o->body_in_file). Marks e checked, so hs_edge_disk_open takes it next.
 * Returns 0 or HS_EBUSY / HS_ENOMEM (done will not run). */
int hs_edge_disk_read(hs_edge_disk_t *d, hs_edge_obj_t *e,
                      void (*done)(void *arg, hs_edge_obj_t *o, hs_str_t vary, hs_str_t sec),
                      void *arg);

/* Opens the object of index entry e on the calling (loop) thread: a few
 * page-cache reads, no hand-off. Returns 0 with *out (one reference) like
 * hs_edge_disk_read's, and *vary / *sec valid until the next call on d;
 * HS_EAGAIN when the file must be checked on the pool first
 * (hs_edge_disk_read: never checked since start, or changed since);
 * HS_ECORRUPT / HS_ENOENT when it is corrupt or gone (e is removed); or
 * another HS_E* code (HS_ENOMEM, out of descriptors). */
int hs_edge_disk_open(hs_edge_disk_t *d, hs_edge_obj_t *e, hs_edge_obj_t **out, hs_str_t *vary,
                      hs_str_t *sec);

/*
 * After a 304 merged new header fields and freshness into o (RFC 9111
 * 4.3.4), updates the disk entry of key that matches req (the request the
 * revalidation was made for): its freshness at once, so the next lookup
 * finds it fresh, and its file behind, on the pool: the file is copied
 * with o's header block and freshness (the body checked against the old
 * checksum on the way) and replaces the old one, so a restart keeps the
 * refresh. Until then opens read the old header block. No entry: nothing.
 * A purge, invalidation or new store of the entry meanwhile drops the copy.
 */
void hs_edge_disk_refresh(hs_edge_disk_t *d, hs_str_t key, const hs_http_msg_t *req,
                          const hs_edge_obj_t *o);

/* The index (lookups, counts): removing an entry deletes its file. */
hs_edge_mem_t *hs_edge_disk_index(hs_edge_disk_t *d);

/* Purges like hs_edge_mem_purge (HS_EDGE_PURGE_URL also serves
 * invalidations), and makes writes still in flight drop their object
 * (it may be one the purge meant). Returns the index entries purged. */
unsigned hs_edge_disk_purge(hs_edge_disk_t *d, hs_edge_purge_kind_t kind, hs_str_t arg, bool soft);

/* True once the startup scan has been applied; jobs still on the pool
 * (for tests). */
bool hs_edge_disk_ready(const hs_edge_disk_t *d);
unsigned hs_edge_disk_pending(const hs_edge_disk_t *d);

#endif
