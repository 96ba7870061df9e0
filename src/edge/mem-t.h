/* Memory-tier types (see mem.h). */
#ifndef HS_EDGE_MEM_T_H
#define HS_EDGE_MEM_T_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str-t.h"
#include "edge/policy-t.h"

typedef struct hs_edge_mem hs_edge_mem_t;

/* What a purge selects. */
typedef enum hs_edge_purge_kind {
    HS_EDGE_PURGE_URL = 0, /* every variant of one primary key */
    HS_EDGE_PURGE_PREFIX,  /* every primary key starting with the argument */
    HS_EDGE_PURGE_TAG,     /* every object carrying the surrogate key */
} hs_edge_purge_kind_t;

/* Where a memory-tier object's body bytes live (independent of the disk
 * tier's body_in_file, which such an object never has). */
typedef enum hs_edge_body_kind {
    HS_EDGE_BODY_HEAP = 0, /* body is malloc'd */
    HS_EDGE_BODY_MEMFD,    /* body is a read-only shared mapping of the sealed
                            * memfd body_memfd (offset 0, size bytes): readers
                            * use the mapping, responses sendfile the fd */
} hs_edge_body_kind_t;

/*
 * One stored response (one variant of a URL). The creator fills the
 * response part and inserts it; afterwards the response part is changed
 * only on the loop thread (a 304 merge replaces hdr and meta; the body
 * never changes, so references to it stay valid while the object lives).
 */
typedef struct hs_edge_obj {
    /* response */
    int status;
    char *hdr; /* header block: "Name: value\r\n" lines (malloc'd; no Date,
                * Age, Content-Length, hop-by-hop fields) */
    size_t hdr_len;
    char *body; /* size bytes (see body_kind); NULL when body_in_file */
    uint64_t size;
    hs_edge_body_kind_t body_kind;
    int body_memfd; /* HS_EDGE_BODY_MEMFD: the memfd (closed with the object) */
    /* disk tier: the body is bytes body_off.. of the open file body_fd
     * (sent with sendfile; closed with the object) instead of `body` */
    bool body_in_file;
    int body_fd;
    uint64_t body_off;
    hs_edge_meta_t meta;
    hs_str_t etag, last_modified, content_type; /* values inside hdr (hs_edge_obj_index) */
    bool accept_ranges;                         /* hdr has Accept-Ranges (hs_edge_obj_index) */
    char *tags; /* surrogate keys, space-separated (malloc'd), or NULL */
    size_t tags_len;
    uint64_t file_id; /* disk tier: the object's file (index objects only) */
    /* disk index entries: the file as its whole checksum last matched
     * (inode, ctime); a file still matching them is not re-read */
    bool file_ok;
    uint64_t file_ino;
    int64_t file_ctime_ns;

    /* owned by the memory tier */
    unsigned refs;
    bool cached;  /* reachable from the tier */
    bool visited; /* SIEVE: hit since the hand last passed */
    struct hs_edge_obj *qprev, *qnext; /* SIEVE queue: qprev is newer */
    struct hs_edge_obj *vnext;         /* next variant of the same URL */
    void *prim;
    char *sec; /* secondary (Vary) key */
    size_t sec_len;
    uint64_t charge; /* bytes counted against the budget */
} hs_edge_obj_t;

#endif
