/*
 * Durability syncs of the write path, run in parallel and shared between
 * concurrent writers (internal to src/objects). See syncer.c.
 */
#ifndef HS_OBJECTS_SYNCER_H
#define HS_OBJECTS_SYNCER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hs__sync_op {
    const char *path;
    bool dir; /* a directory: a shared sync (hs__dir_sync) */
    int rc;   /* set by hs__sync_run: 0 or a negative HS_E* code */
} hs__sync_op_t;

/* Runs every op at once on the sync threads (the caller takes a share),
 * returns when all are done, with each op's result in its rc. A file op
 * fdatasyncs the file (HS_ENOENT if it does not exist); a directory op is
 * hs__dir_sync. Falls back to running them one by one on the caller's
 * thread if no sync thread could be started. */
void hs__sync_run(hs__sync_op_t *ops, size_t n);

/* Makes durable every entry created in directory path before the call:
 * waits for an fsync of it that started after the call, starting one if
 * none is running, so concurrent callers share one fsync. Returns that
 * fsync's result (HS_ENOENT if the directory is gone). */
int hs__dir_sync(const char *path);

#endif
