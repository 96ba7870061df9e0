/*
 * Fragment files: one per (stripe, fragment index), in the drive directory
 * the stripe's rotation assigns. A fragment is a header (magic, identity,
 * geometry, and a CRC32C per 64 KiB payload block, itself covered by a
 * header CRC) followed by the payload. Every read verifies the blocks it
 * touches, so a flipped bit anywhere is detected before a byte is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <isa-l.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/err.h"
#include "objects/internal.h"

#define FRAG_MAGIC "HSFRAG\0\1"
#define FIXED 64

uint32_t hs__crc32c(const void *p, size_t n)
{
    return crc32_iscsi((unsigned char *)p, (int)n, 0xffffffffu);
}

#define crc32c hs__crc32c

static void le32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void hs__frag_path(char *buf, size_t cap, const char *drive, uint64_t stripe, int index)
{
    snprintf(buf, cap, "%s/%016llx.%02d", drive, (unsigned long long)stripe, index);
}

const char *hs__frag_drive(const hs_objects_t *s, const hs__stripe_rec_t *st, int i)
{
    return s->drives[(st->first_drive + i) % s->ndrives];
}

/* Large fragments (>= 64 KiB, 4 KiB multiples) are written with O_DIRECT:
 * it skips the page-cache copy, which costs as much as the disk on the
 * write path. Their header is padded to 4 KiB so the payload stays
 * aligned; smaller fragments keep a 512-byte-aligned header. */
static bool direct_ok(uint32_t frag_len)
{
    return frag_len >= 65536 && frag_len % 4096 == 0;
}

static uint32_t hdr_len_for(uint32_t nblocks, uint32_t frag_len)
{
    uint32_t align = direct_ok(frag_len) ? 4096 : 512;
    return (FIXED + 4 * nblocks + align - 1) & ~(align - 1);
}

static int write_all(int fd, const struct iovec *iov, int n)
{
    struct iovec v[2];
    memcpy(v, iov, sizeof(*iov) * (size_t)n);
    int i = 0;
    while (i < n) {
        ssize_t w = writev(fd, v + i, n - i);
        if (w < 0) {
            if (errno == EINTR) continue;
            return HS_ERR(errno);
        }
        while (i < n && (size_t)w >= v[i].iov_len) {
            w -= (ssize_t)v[i].iov_len;
            i++;
        }
        if (i < n) {
            v[i].iov_base = (char *)v[i].iov_base + w;
            v[i].iov_len -= (size_t)w;
        }
    }
    return 0;
}

int hs__fsync_path(const char *path, bool missing_ok)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return (errno == ENOENT && missing_ok) ? 0 : HS_ERR(errno);
    int rc = fsync(fd) < 0 ? HS_ERR(errno) : 0;
    close(fd);
    return rc;
}

int hs__frag_write(const char *path, uint64_t stripe, int index, const hs__stripe_rec_t *st,
                   const uint8_t *payload, bool atomic)
{
    uint32_t bs = HS_OBJ_BLOCK;
    uint32_t nblocks = (st->frag_len + bs - 1) / bs;
    uint32_t hl = hdr_len_for(nblocks, st->frag_len);
    uint8_t *h = NULL;
    char tmp[4200];
    int fd, rc;
    bool direct = direct_ok(st->frag_len) && ((uintptr_t)payload & 4095) == 0;
    if (posix_memalign((void **)&h, 4096, hl) != 0) return HS_ENOMEM;
    memset(h, 0, hl);
    memcpy(h, FRAG_MAGIC, 8);
    le32(h + 8, 1);
    le32(h + 12, hl);
    for (int i = 0; i < 8; i++)
        h[16 + i] = (uint8_t)(stripe >> (8 * i));
    h[24] = (uint8_t)index;
    h[25] = st->d;
    h[26] = st->p;
    h[27] = st->tier;
    le32(h + 28, st->frag_len);
    le32(h + 32, bs);
    le32(h + 36, nblocks);
    le32(h + 40, st->data_len);
    for (uint32_t b = 0; b < nblocks; b++) {
        uint32_t n = b + 1 < nblocks ? bs : st->frag_len - b * bs;
        le32(h + FIXED + 4 * b, crc32c(payload + (size_t)b * bs, n));
    }
    /* The header CRC covers the whole header, padding included (with this
     * field zero), so no byte of a fragment file goes unchecked. */
    le32(h + 56, crc32c(h, hl));

    /* A unique temp name: two repairers (threads or processes) of one
     * fragment never write into each other's file. */
    snprintf(tmp, sizeof(tmp), "%s.tmp%016llx", path, (unsigned long long)hs__random_id());
    /* New fragments never replace a file (a stripe-id collision fails the
     * put rather than clobbering another stripe); repairs write a fresh
     * temp file and rename it over the old one. */
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
    fd = open(atomic ? tmp : path, flags | (direct ? O_DIRECT : 0), 0644);
    if (fd < 0 && direct && errno == EINVAL) { /* e.g. tmpfs */
        direct = false;
        fd = open(atomic ? tmp : path, flags, 0644);
    }
    if (fd < 0) {
        rc = HS_ERR(errno);
        free(h);
        return rc;
    }
    struct iovec iov[2] = {{h, hl}, {(void *)payload, st->frag_len}};
    rc = write_all(fd, iov, 2);
    free(h);
    if (rc == 0) {
        if (atomic) {
            if (fdatasync(fd) < 0) rc = HS_ERR(errno);
        } else if (!direct) {
            /* Start writeback now; the commit waits for it with fdatasync. */
            sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        }
    }
    close(fd);
    if (rc == 0 && atomic && rename(tmp, path) < 0) rc = HS_ERR(errno);
    if (rc < 0) unlink(atomic ? tmp : path);
    return rc;
}

void hs__frag_hdr_free(hs__frag_hdr_t *h)
{
    free(h->crcs);
    h->crcs = NULL;
}

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return HS_EIO;
        }
        if (r == 0) return HS_ECORRUPT; /* truncated */
        got += (size_t)r;
    }
    return 0;
}

int hs__frag_hdr_parse_fixed(const uint8_t *fixed, size_t len, hs__frag_hdr_t *h)
{
    memset(h, 0, sizeof(*h));
    if (len < FIXED || memcmp(fixed, FRAG_MAGIC, 8) != 0 || rd32(fixed + 8) != 1)
        return HS_ECORRUPT;
    uint64_t id = 0;
    for (int i = 7; i >= 0; i--)
        id = (id << 8) | fixed[16 + i];
    h->stripe = id;
    h->index = fixed[24];
    h->d = fixed[25];
    h->p = fixed[26];
    h->tier = fixed[27];
    h->frag_len = rd32(fixed + 28);
    h->block_size = rd32(fixed + 32);
    h->nblocks = rd32(fixed + 36);
    h->data_len = rd32(fixed + 40);
    h->hdr_len = rd32(fixed + 12);
    if (h->d == 0 || h->d + h->p > HS_EC_MAX || h->index >= h->d + h->p || h->frag_len == 0 ||
        h->block_size != HS_OBJ_BLOCK ||
        h->nblocks != (uint32_t)(((uint64_t)h->frag_len + HS_OBJ_BLOCK - 1) / HS_OBJ_BLOCK) ||
        h->hdr_len != hdr_len_for(h->nblocks, h->frag_len) ||
        (uint64_t)h->data_len > (uint64_t)h->d * h->frag_len)
        return HS_ECORRUPT;
    return 0;
}

int hs__frag_hdr_parse(const uint8_t *buf, size_t len, hs__frag_hdr_t *h)
{
    int rc = hs__frag_hdr_parse_fixed(buf, len, h);
    if (rc < 0) return rc;
    if (len < h->hdr_len) return HS_ECORRUPT;
    /* the CRC is computed with its own field zero */
    uint32_t want = rd32(buf + 56);
    uint32_t got = crc32c(buf, 56);
    static const uint8_t zero[4];
    got = crc32_iscsi((unsigned char *)zero, 4, got);
    got = crc32_iscsi((unsigned char *)buf + 60, (int)(h->hdr_len - 60), got);
    if (got != want) return HS_ECORRUPT;
    h->crcs = malloc(4 * (size_t)h->nblocks + 4);
    if (!h->crcs) return HS_ENOMEM;
    for (uint32_t b = 0; b < h->nblocks; b++)
        h->crcs[b] = rd32(buf + FIXED + 4 * b);
    return 0;
}

int hs__frag_open(const char *path, uint64_t stripe, int index, const hs__stripe_rec_t *st,
                  hs__frag_hdr_t *h)
{
    uint8_t fixed[FIXED];
    memset(h, 0, sizeof(*h));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT || errno == ENOTDIR ? HS_ENOENT : HS_EIO;
    int rc = pread_all(fd, fixed, FIXED, 0);
    if (rc < 0) goto fail;
    if ((rc = hs__frag_hdr_parse_fixed(fixed, FIXED, h)) < 0) goto fail;
    /* the file must be the fragment the index expects, before we trust
     * any length in it */
    rc = HS_ECORRUPT;
    if (h->stripe != stripe || h->index != index || h->d != st->d || h->p != st->p ||
        h->frag_len != st->frag_len)
        goto fail;
    uint8_t *all = malloc(h->hdr_len);
    if (!all) {
        rc = HS_ENOMEM;
        goto fail;
    }
    rc = pread_all(fd, all, h->hdr_len, 0);
    if (rc == 0) rc = hs__frag_hdr_parse(all, h->hdr_len, h);
    free(all);
    if (rc < 0) goto fail;
    struct stat sb;
    if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != (uint64_t)h->hdr_len + h->frag_len) {
        rc = HS_ECORRUPT;
        hs__frag_hdr_free(h);
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return rc;
}

long hs__frag_read_blocks(int fd, const hs__frag_hdr_t *h, uint32_t b0, uint32_t b1, uint8_t *buf)
{
    if (b1 > h->nblocks) b1 = h->nblocks;
    if (b0 >= b1) return 0;
    uint32_t bs = h->block_size;
    size_t start = (size_t)b0 * bs;
    size_t end = b1 == h->nblocks ? h->frag_len : (size_t)b1 * bs;
    int rc = pread_all(fd, buf, end - start, (off_t)h->hdr_len + (off_t)start);
    if (rc < 0) return rc;
    for (uint32_t b = b0; b < b1; b++) {
        size_t n = b + 1 < h->nblocks ? bs : h->frag_len - (size_t)b * bs;
        if (crc32c(buf + (size_t)(b - b0) * bs, n) != h->crcs[b]) return HS_ECORRUPT;
    }
    return (long)(end - start);
}

bool hs__frag_cached(int fd, uint64_t off)
{
    uint8_t b;
    struct iovec v = {&b, 1};
    return preadv2(fd, &v, 1, (off_t)off, RWF_NOWAIT) == 1;
}
