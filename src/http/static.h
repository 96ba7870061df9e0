/*
 * Static file handler: serves a directory tree over HTTP with GET/HEAD,
 * conditional requests, single and multiple ranges, MIME types, optional
 * directory listings and no way out of the root. Small files are kept in a
 * per-thread memory cache (revalidated with stat at most every
 * `revalidate_ms`); large ones are sent with sendfile from cached
 * descriptors. One instance per worker thread; not thread-safe.
 */
#ifndef HS_HTTP_STATIC_H
#define HS_HTTP_STATIC_H

#include <stdbool.h>
#include <stdint.h>

#include "http/server.h"

typedef struct hs_static_opts {
    const char *root;
    bool dir_index;
    uint64_t cache_bytes;    /* memory for small-file contents; 0 disables */
    uint64_t cache_file_max; /* larger files are not kept in memory */
    uint64_t revalidate_ms;
} hs_static_opts_t;

/* Opens the root and returns a handler, or NULL with *err set (HS_ENOENT
 * when the root does not exist, HS_ENOTDIR-like codes...). */
hs_http_handler_t *hs_static_new(const hs_static_opts_t *opts, int *err);
void hs_static_free(hs_http_handler_t *h);

/* The MIME type for a file name, by extension ("application/octet-stream"
 * when unknown). */
const char *hs_mime_type(const char *name, size_t len);

#endif
