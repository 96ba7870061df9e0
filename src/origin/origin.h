/*
 * The S3-compatible origin: an HTTP handler that speaks the S3 REST API
 * (path-style and virtual-host-style addressing, SigV4 auth), keeps object
 * metadata in the metadata role store (meta.h), object bytes in the object
 * store (objects/objects.h) and hot metadata and small objects in the L2
 * cache (l2.h). docs/origin.md lists every call and error.
 *
 * One hs_origin_t per process (it owns the stores); one handler per worker
 * thread. Store calls run on the I/O thread pool (core/tpool.h): an event
 * loop never waits on a disk.
 */
#ifndef HS_ORIGIN_ORIGIN_H
#define HS_ORIGIN_ORIGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "http/server.h"
#include "objects/objects-t.h"

typedef struct hs_origin hs_origin_t;

/* Answered 200 without auth, for load balancers' health checks (no bucket
 * name can start with '_'). */
#define HS_ORIGIN_HEALTH_PATH "/_hyperscale/health"

typedef struct hs_origin_opts {
    const char *data;        /* data directory: DATA/meta, DATA/objects */
    const char *region;      /* region we sign with and report */
    const char *domain;      /* virtual-host base: BUCKET.<domain>; NULL/"" = path-style only */
    int64_t max_skew_s;      /* largest |signed time - now| */
    uint64_t cache_bytes;    /* L2 budget (0 = no L2) */
    uint64_t cache_object_max;
    uint64_t max_object;     /* largest single PUT / part (S3: 5 GiB) */
    const char *access_key;  /* credentials; NULL = from the environment or DATA/credentials */
    const char *secret_key;
    hs_objects_opts_t objects; /* geometry of a new object store */
    bool background;         /* run the object store's scrub/tier/gc thread */
    bool no_reconcile;       /* skip the reconcile pass: another process may be mid-PUT */
} hs_origin_opts_t;

/* Opens the stores under opts->data (creating them on first start) and the
 * credentials (made and saved to DATA/credentials on first start when the
 * environment gives none; *created_creds tells the caller to print them).
 * Runs the reconcile pass (object-store objects no metadata names, left by
 * a crash, are deleted) unless opts->no_reconcile. Returns 0 and *out, or
 * an error with a message logged. */
int hs_origin_open(const hs_origin_opts_t *opts, hs_origin_t **out, bool *created_creds);
void hs_origin_close(hs_origin_t *o);

/* The credentials in use (for the first-start message). */
void hs_origin_credentials(const hs_origin_t *o, const char **access_key, const char **secret_key);

/* Deletes object-store objects that no metadata record references.
 * Returns the number deleted or an error. Only before serving: a PUT in
 * flight has bytes committed that its metadata does not name yet. */
long hs_origin_reconcile(hs_origin_t *o);

/* A handler for one worker thread; NULL with *err on failure. */
hs_http_handler_t *hs_origin_handler_new(hs_origin_t *o, int *err);
void hs_origin_handler_free(hs_http_handler_t *h);

#endif
