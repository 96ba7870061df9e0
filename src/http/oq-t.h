/* Output queue types (see oq.h). */
#ifndef HS_HTTP_OQ_T_H
#define HS_HTTP_OQ_T_H

#include <stddef.h>
#include <sys/types.h>

typedef void (*hs_oq_release_cb)(void *ref);

typedef struct hs_oseg {
    struct hs_oseg *next;
    unsigned char kind; /* HS_OSEG_OWN, HS_OSEG_REF, HS_OSEG_FILE */
    char *base;         /* OWN/REF: bytes; OWN: base is the segment's own storage */
    size_t len;         /* bytes not yet sent */
    size_t cap;         /* OWN: storage size */
    int fd;             /* FILE */
    off_t off;          /* FILE: next offset */
    hs_oq_release_cb release; /* REF/FILE: called once fully sent or dropped */
    void *ref;
} hs_oseg_t;

typedef struct hs_oq {
    hs_oseg_t *head, *tail;
    size_t bytes; /* queued, not yet sent */
    int cork;     /* nested hold on flushing */
} hs_oq_t;

#endif
