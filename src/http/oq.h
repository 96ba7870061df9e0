/*
 * Output queue of a connection: small writes are copied into owned
 * segments, large bodies are queued by reference (memory or a file range),
 * and a flush sends as much as the socket takes with one writev over the
 * memory segments and sendfile for file ranges, in order.
 */
#ifndef HS_HTTP_OQ_H
#define HS_HTTP_OQ_H

#include <stdbool.h>

#include "http/oq-t.h"

#define HS_OQ_SEG_SIZE 16384

/* Copies data to the tail. Returns 0 or HS_ENOMEM. */
int hs_oq_append(hs_oq_t *q, const void *data, size_t len);
/* Reserves `len` writable bytes at the tail for the caller to fill, then
 * commit with hs_oq_commit. Returns NULL on OOM. len <= HS_OQ_SEG_SIZE. */
char *hs_oq_reserve(hs_oq_t *q, size_t len);
void hs_oq_commit(hs_oq_t *q, size_t len);
/* Queues bytes owned by someone else; release(ref) runs when sent or
 * dropped. Returns 0 or HS_ENOMEM (release is then called at once). */
int hs_oq_append_ref(hs_oq_t *q, const void *data, size_t len, hs_oq_release_cb release,
                     void *ref);
/* Queues a file range sent with sendfile; release(ref) as above. */
int hs_oq_append_file(hs_oq_t *q, int fd, off_t off, size_t len, hs_oq_release_cb release,
                      void *ref);

/* Writes to the socket until the queue is empty or the socket would block.
 * Returns 0 when empty, HS_EAGAIN when data remains, or a negative HS_E*
 * code on a socket error. *sent (if not NULL) is increased by bytes sent. */
int hs_oq_flush(hs_oq_t *q, int fd, size_t *sent);

/* Drops everything queued (release callbacks run). */
void hs_oq_clear(hs_oq_t *q);

static inline bool hs_oq_empty(const hs_oq_t *q)
{
    return q->head == NULL;
}

#endif
