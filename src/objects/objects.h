/*
 * The object store: named objects written and read as streams, cut into
 * content-defined chunks (FastCDC), each chunk addressed by its SHA-256 and
 * stored once across the whole store (global dedup index in the
 * wide-column role store), chunks packed into stripes that are
 * Reed-Solomon coded across drive directories, every fragment block
 * checksummed (CRC32C) and verified on every read, with healing, scrubbing,
 * garbage collection and hot/warm/cold tiering. Design and on-disk format:
 * docs/design/objects-format.md; operator guide: docs/objects.md.
 *
 * Thread safety: one hs_objects_t may be shared by any number of threads,
 * and several processes may open the same DIR; open a store once per
 * process (LMDB's rule) and share the handle. A writer or reader handle
 * belongs to one thread at a time; a thread holding one must not call gc
 * (gc waits for every open writer and reader). All calls block on disk I/O: servers call them from
 * their I/O thread pool.
 *
 * Durability: hs_obj_put_commit returns only after the fragments and their
 * directories are fsynced and then the index transaction is committed; a
 * crash before that leaves the previous state plus orphan files that the
 * next gc/fsck --repair removes.
 */
#ifndef HS_OBJECTS_OBJECTS_H
#define HS_OBJECTS_OBJECTS_H

#include "objects/objects-t.h"

/* Opens (creating on first use) the store in dir. opts may be NULL.
 * Returns 0 and *out, HS_EINVAL/HS_ECONFIG on bad options or ones that
 * contradict the existing store (its drives, or a nonzero frag_max other
 * than the one it was created with), or an I/O error. */
int hs_objects_open(const char *dir, const hs_objects_opts_t *opts, hs_objects_t **out);
/* hs_objects_open for callers that report refusals themselves: on
 * HS_ECONFIG from a nonzero opts->frag_max that differs from the existing
 * store's, why (cap bytes) gets one sentence naming the store's value;
 * otherwise it is left empty. hs_objects_open logs that sentence instead. */
int hs_objects_open_why(const char *dir, const hs_objects_opts_t *opts, hs_objects_t **out,
                        char *why, size_t cap);
void hs_objects_close(hs_objects_t *s);

/* Geometry of the store: drives, and D+P of the hot and cold tiers. */
void hs_objects_geometry(const hs_objects_t *s, int *ndrives, int *hot_d, int *hot_p, int *cold_d,
                         int *cold_p);
/* The store's largest fragment in bytes, fixed when it was created. */
uint32_t hs_objects_frag_max(const hs_objects_t *s);
/* Default D+P for n drives (hot and cold), the table in docs/objects.md. */
void hs_objects_default_geometry(int n, int *hot_d, int *hot_p, int *cold_d, int *cold_p);

/* ---- PUT: begin, write any number of times, then commit or abort. ----
 * The object becomes visible (replacing any object of that name) only at
 * commit, once durable. name: 1..1024 bytes. */
int hs_obj_put_begin(hs_objects_t *s, const char *name, const hs_obj_put_opts_t *opts,
                     hs_obj_writer_t **out);
int hs_obj_put_write(hs_obj_writer_t *w, const void *buf, size_t len);
/* Commits and frees w whatever the result; info may be NULL. */
int hs_obj_put_commit(hs_obj_writer_t *w, hs_obj_info_t *info);
void hs_obj_put_abort(hs_obj_writer_t *w);

/* ---- GET: a reader over [off, off+len) of the object (len UINT64_MAX:
 * to the end). Ranges past the end are clipped; off > size is HS_ERANGE.
 * Reads touch only the fragment blocks that hold the range. */
int hs_obj_get_open(hs_objects_t *s, const char *name, uint64_t off, uint64_t len,
                    hs_obj_reader_t **out);
/* Copies up to cap bytes; returns the count, 0 at the end, or an error
 * (never corrupt bytes: a bad block is rebuilt from the other fragments
 * or the read fails with HS_EIO). */
long hs_obj_read(hs_obj_reader_t *r, void *buf, size_t cap);
/* Zero-copy read: *p points at up to max next bytes of the range (inside
 * the reader's verified fragment buffer or chunk buffer), valid until the next call
 * on r. Returns the count, 0 at the end, or an error. Lets a server write
 * straight from the store's pages to a socket. */
long hs_obj_read_view(hs_obj_reader_t *r, const void **p, size_t max);
/* Size of the object the reader was opened on. */
uint64_t hs_obj_reader_size(const hs_obj_reader_t *r);
void hs_obj_get_close(hs_obj_reader_t *r);

/* Metadata of an object, HS_ENOENT if absent. */
int hs_obj_stat(hs_objects_t *s, const char *name, hs_obj_info_t *info);
/* Deletes an object (its chunks lose a reference; space comes back at the
 * next gc). HS_ENOENT if absent. */
int hs_obj_delete(hs_objects_t *s, const char *name);
/* Calls fn for each object whose name starts with prefix, in name order,
 * until fn returns non-zero (that value is returned). */
int hs_obj_list(hs_objects_t *s, const char *prefix,
                int (*fn)(void *arg, const char *name, const hs_obj_info_t *info), void *arg);

/* ---- Maintenance (maint.c). Each returns 0 if the store is (now)
 * healthy, HS_ECORRUPT if problems remain, or an error. ---- */
/* Checks index, refcounts, stripes and fragments; repairs with opts->repair. */
int hs_objects_fsck(hs_objects_t *s, const hs_obj_maint_opts_t *opts, hs_obj_report_t *rep);
/* Rebuilds every missing or bad fragment (a replaced drive). Reads keep
 * working meanwhile. */
int hs_objects_heal(hs_objects_t *s, const hs_obj_maint_opts_t *opts, hs_obj_report_t *rep);
/* Reads every block of every fragment at a bounded rate, repairing. */
int hs_objects_scrub(hs_objects_t *s, const hs_obj_maint_opts_t *opts, hs_obj_report_t *rep);
/* Reclaims unreferenced chunks and stripes, compacts mostly-dead stripes,
 * removes orphan files of crashed writers. Waits for in-flight puts. */
int hs_objects_gc(hs_objects_t *s, const hs_obj_maint_opts_t *opts, hs_obj_report_t *rep);

/*
 * Starts a background thread that, every interval, scrubs the store at the
 * bounded rate (repairing what it finds; a missing drive's fragments are
 * rebuilt the same way), runs a tier pass, and reclaims space with gc when
 * it can take the exclusive lock without waiting. Returns 0 and *out, or
 * an error. Stop it with hs_objects_bg_stop before closing the store.
 */
int hs_objects_bg_start(hs_objects_t *s, const hs_obj_bg_opts_t *opts, hs_obj_bg_t **out);
/* Stops the thread (interrupting its pause, finishing the current step)
 * and frees it. Returns the number of passes completed. */
uint64_t hs_objects_bg_stop(hs_obj_bg_t *bg);

/* Counters since open: corrupt blocks detected on reads, fragments
 * repaired by reads. */
void hs_objects_counters(const hs_objects_t *s, uint64_t *corrupt_detected, uint64_t *repaired);

/* ---- Tiering (tier.c) ---- */
/* Moves an object's chunks to tier t (shared chunks keep the hottest
 * tier any of their objects asks for). */
int hs_obj_set_tier(hs_objects_t *s, const char *name, hs_tier_t t);
/* One background pass: for every object, predicts its next access from
 * the access model and moves it to the tier the policy picks. now_ns = 0
 * means the current time. */
int hs_objects_tier_pass(hs_objects_t *s, uint64_t now_ns, const hs_obj_maint_opts_t *opts,
                         hs_obj_report_t *rep);

#endif
