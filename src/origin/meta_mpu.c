/*
 * Multipart uploads in the metadata store: the upload record (key,
 * initiated time, header template), one record per part, and the per-key
 * upload index that ListMultipartUploads walks. Completion checks the
 * client's part list, builds the object record (segments = the listed
 * parts in order, the S3 multipart etag) and swaps it in while removing the
 * upload and every part, all in one kv transaction, which like a PUT's
 * joins a group commit (hs_kv_group_run).
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "core/err.h"
#include "origin/meta-int.h"
#include "origin/meta.h"

/* Uploads one key may have in progress at once (its index value holds
 * every id). */
#define UPLOADS_PER_KEY_MAX 10000

static bool key_ok(const char *key, size_t keylen)
{
    return key && keylen >= 1 && keylen <= HS_META_KEY_MAX;
}

int hs__meta_upidx_update(hs_kv_txn_t *txn, const char *bucket, const char *key, size_t keylen,
                          const char *id, bool add)
{
    uint8_t k[HS__META_KEY_CAP];
    size_t kl = hs__meta_key_ek(k, hs__meta_key_ns(k, bucket, HS__META_K_UPIDX), key, keylen);
    size_t tl = keylen > HS__META_HEAD ? keylen - HS__META_HEAD : 0;
    const uint8_t *tail, *ids = NULL;
    size_t tlen, idlen = 0;
    hs_kv_val_t v;
    int rc = hs_kv_get(txn, k, kl, &v);
    if (rc == 0) {
        if ((rc = hs__meta_env_split(v.data, v.len, &tail, &tlen, &ids, &idlen)) < 0) return rc;
        if ((rc = hs__meta_env_check(key, keylen, tail, tlen)) < 0) return rc;
        if (idlen % HS_META_UPLOAD_ID_LEN) return HS_ECORRUPT;
    } else if (rc != HS_ENOENT) {
        return rc;
    } else if (!add) {
        return 0;
    } else if (tl) {
        if ((rc = hs__meta_group_room(txn, k, kl - HS__META_HASH)) < 0) return rc;
    }
    size_t n = idlen / HS_META_UPLOAD_ID_LEN, at = 0;
    while (at < n && memcmp(ids + at * HS_META_UPLOAD_ID_LEN, id, HS_META_UPLOAD_ID_LEN) < 0)
        at++;
    bool present = at < n && memcmp(ids + at * HS_META_UPLOAD_ID_LEN, id, HS_META_UPLOAD_ID_LEN) == 0;
    if (add == present) return 0;
    if (!add && n == 1) return hs_kv_del(txn, k, kl);
    if (add && n >= UPLOADS_PER_KEY_MAX) return HS_ELIMIT;
    size_t nn = add ? n + 1 : n - 1;
    size_t len = 2 + tl + nn * HS_META_UPLOAD_ID_LEN;
    uint8_t *b = malloc(len);
    if (!b) return HS_ENOMEM;
    b[0] = (uint8_t)tl;
    b[1] = (uint8_t)(tl >> 8);
    if (tl) memcpy(b + 2, key + HS__META_HEAD, tl);
    uint8_t *o = b + 2 + tl;
    size_t before = at * HS_META_UPLOAD_ID_LEN;
    if (before) memcpy(o, ids, before);
    if (add) {
        memcpy(o + before, id, HS_META_UPLOAD_ID_LEN);
        if (idlen > before) memcpy(o + before + HS_META_UPLOAD_ID_LEN, ids + before, idlen - before);
    } else if (idlen > before + HS_META_UPLOAD_ID_LEN) {
        memcpy(o + before, ids + before + HS_META_UPLOAD_ID_LEN, idlen - before - HS_META_UPLOAD_ID_LEN);
    }
    rc = hs_kv_put(txn, k, kl, b, len);
    free(b);
    return rc;
}

static int new_upload_id(char id[HS_META_UPLOAD_ID_LEN + 1])
{
    uint8_t r[16];
    size_t got = 0;
    while (got < sizeof(r)) {
        ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return HS_ERR(errno);
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(id + 2 * i, 3, "%02x", r[i]);
    return 0;
}

int hs_meta_mpu_create(hs_meta_t *m, const char *bucket, const char *key, size_t keylen,
                       const hs_meta_obj_t *meta_template, char upload_id[65])
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    if (!key_ok(key, keylen)) return HS_EINVAL;
    char id[HS_META_UPLOAD_ID_LEN + 1];
    int rc = new_upload_id(id);
    if (rc < 0) return rc;
    uint8_t *enc, k[HS__META_KEY_CAP];
    size_t enclen, kl;
    hs_kv_val_t v;
    if ((rc = hs__meta_upload_enc(key, keylen, hs__meta_now_ns(), meta_template, &enc, &enclen)) < 0)
        return rc;
    hs_kv_txn_t *txn;
    rc = hs_kv_txn_begin(m->kv, 0, &txn);
    if (rc < 0) {
        free(enc);
        return rc;
    }
    rc = hs__meta_bucket_exists(txn, bucket);
    kl = hs__meta_key_upload(k, bucket, id);
    if (rc == 0) {
        /* 128 random bits do not collide; this only guards a broken
         * random source from merging two uploads. */
        rc = hs_kv_get(txn, k, kl, &v);
        rc = rc == 0 ? HS_EIO : rc == HS_ENOENT ? 0 : rc;
    }
    if (rc == 0) rc = hs_kv_put(txn, k, kl, enc, enclen);
    if (rc == 0) rc = hs__meta_upidx_update(txn, bucket, key, keylen, id, true);
    free(enc);
    if (rc < 0) {
        hs_kv_txn_abort(txn);
        return rc;
    }
    if ((rc = hs_kv_txn_commit(txn)) < 0) return rc;
    memcpy(upload_id, id, sizeof(id));
    return 0;
}

/* The upload of id in txn's snapshot: HS_ENOBUCKET, HS_ENOENT, or 0 with
 * *out (may be NULL: existence only). */
static int upload_load(hs_kv_txn_t *txn, const char *bucket, const char *id, hs_meta_mpu_t **out)
{
    uint8_t k[HS__META_KEY_CAP];
    hs_kv_val_t v;
    int rc = hs__meta_bucket_exists(txn, bucket);
    if (rc < 0) return rc;
    if (!hs__meta_upload_id_ok(id)) return HS_ENOENT;
    if ((rc = hs_kv_get(txn, k, hs__meta_key_upload(k, bucket, id), &v)) < 0) return rc;
    return out ? hs__meta_upload_dec(v.data, v.len, id, out) : 0;
}

int hs_meta_mpu_get(hs_meta_t *m, const char *bucket, const char *upload_id, hs_meta_mpu_t **out)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(m->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = upload_load(txn, bucket, upload_id, out);
    hs_kv_txn_abort(txn);
    return rc;
}

void hs_meta_mpu_free(hs_meta_mpu_t *u)
{
    free(u);
}

int hs_meta_mpu_part_put(hs_meta_t *m, const char *bucket, const char *upload_id, unsigned part,
                         const hs_meta_part_t *p, hs_meta_dropped_t *dropped)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    if (part < 1 || part > HS_META_PART_MAX) return HS_EINVAL;
    uint8_t rec[HS__META_PART_REC_MAX], k[HS__META_KEY_CAP];
    size_t rl, kl;
    int rc = hs__meta_part_enc(rec, &rl, p);
    if (rc < 0) return rc;
    hs_meta_dropped_t dr = {0};
    hs__meta_partrec_t old;
    hs_kv_val_t v;
    hs_kv_txn_t *txn;
    if ((rc = hs_kv_txn_begin(m->kv, 0, &txn)) < 0) return rc;
    rc = upload_load(txn, bucket, upload_id, NULL);
    if (rc == 0) {
        kl = hs__meta_key_part(k, bucket, upload_id, part);
        rc = hs_kv_get(txn, k, kl, &v);
        if (rc == 0 && hs__meta_part_dec(&old, v.data, v.len) == 0 &&
            strcmp(old.objname, p->objname) != 0)
            rc = hs__meta_dropped_add(&dr, old.objname);
        if (rc == 0 || rc == HS_ENOENT) rc = hs_kv_put(txn, k, kl, rec, rl);
    }
    if (rc == 0) rc = hs_kv_txn_commit(txn);
    else hs_kv_txn_abort(txn);
    if (rc < 0) hs_meta_dropped_free(&dr);
    else hs__meta_dropped_move(dropped, &dr);
    return rc;
}

int hs_meta_mpu_parts(hs_meta_t *m, const char *bucket, const char *upload_id, unsigned after_part,
                      unsigned max, int (*fn)(void *arg, unsigned part, const hs_meta_part_t *p),
                      void *arg, bool *truncated)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    *truncated = false;
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(m->kv, HS_KV_RDONLY, &txn);
    if (rc < 0) return rc;
    rc = upload_load(txn, bucket, upload_id, NULL);
    if (rc == 0 && after_part < HS_META_PART_MAX && max > 0) {
        uint8_t s[HS__META_KEY_CAP], e[HS__META_KEY_CAP];
        size_t sl = hs__meta_key_part(s, bucket, upload_id, after_part + 1);
        size_t el = hs__meta_key_part(e, bucket, upload_id, HS_META_PART_MAX + 1);
        hs_kv_cursor_t *c = NULL;
        hs_kv_val_t k, v;
        unsigned count = 0;
        rc = hs_kv_cursor_open(txn, s, sl, e, el, &c);
        while (rc == 0 && (rc = hs__meta_next(c, &k, &v)) == 0) {
            hs__meta_partrec_t pr;
            hs_meta_part_t pv;
            const uint8_t *kb = k.data;
            if (count == max) {
                *truncated = true;
                break;
            }
            if (k.len != sl || (rc = hs__meta_part_dec(&pr, v.data, v.len)) < 0) {
                rc = rc < 0 ? rc : HS_ECORRUPT;
                break;
            }
            hs__meta_part_view(&pr, &pv);
            count++;
            rc = fn(arg, (unsigned)kb[sl - 2] << 8 | kb[sl - 1], &pv);
        }
        if (c) hs_kv_cursor_close(c);
        if (rc == HS_EOF) rc = 0;
    }
    hs_kv_txn_abort(txn);
    return rc;
}

typedef struct partref {
    unsigned number;
    char objname[HS_META_OBJNAME_MAX + 1];
} partref_t;

/* Deletes every part of an upload, the upload record and its index entry
 * inside txn. Parts whose number is not in keep[0..nkeep) (ascending) go to
 * dropped. */
static int upload_remove(hs_kv_txn_t *txn, const char *bucket, const hs_meta_mpu_t *u,
                         const hs_meta_complete_part_t *keep, unsigned nkeep,
                         hs_meta_dropped_t *dropped)
{
    uint8_t k[HS__META_KEY_CAP];
    size_t kl = hs__meta_key_part(k, bucket, u->upload_id, 0) - 2;
    partref_t *refs = NULL;
    size_t n = 0, cap = 0;
    hs_kv_cursor_t *c;
    hs_kv_val_t ck, cv;
    int rc = hs__meta_cursor_prefix(txn, k, kl, &c);
    if (rc < 0) return rc;
    while ((rc = hs__meta_next(c, &ck, &cv)) == 0) {
        hs__meta_partrec_t pr;
        const uint8_t *kb = ck.data;
        if (ck.len != kl + 2) {
            rc = HS_ECORRUPT;
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            partref_t *nr = realloc(refs, nc * sizeof(*nr));
            if (!nr) {
                rc = HS_ENOMEM;
                break;
            }
            refs = nr;
            cap = nc;
        }
        refs[n].number = (unsigned)kb[kl] << 8 | kb[kl + 1];
        /* An unreadable part record is still removed; its bytes, if any,
         * are left to the reconcile pass. */
        if (hs__meta_part_dec(&pr, cv.data, cv.len) == 0) memcpy(refs[n].objname, pr.objname, sizeof(pr.objname));
        else refs[n].objname[0] = 0;
        n++;
    }
    hs_kv_cursor_close(c);
    if (rc == HS_EOF) rc = 0;
    size_t j = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        while (j < nkeep && keep[j].number < refs[i].number)
            j++;
        bool kept = j < nkeep && keep[j].number == refs[i].number;
        if (!kept && refs[i].objname[0]) rc = hs__meta_dropped_add(dropped, refs[i].objname);
        if (rc == 0) rc = hs_kv_del(txn, k, hs__meta_key_part(k, bucket, u->upload_id, refs[i].number));
    }
    free(refs);
    if (rc == 0) rc = hs_kv_del(txn, k, hs__meta_key_upload(k, bucket, u->upload_id));
    if (rc == 0) rc = hs__meta_upidx_update(txn, bucket, u->key, u->keylen, u->upload_id, false);
    return rc;
}

int hs_meta_mpu_abort(hs_meta_t *m, const char *bucket, const char *upload_id,
                      hs_meta_dropped_t *dropped)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    hs_meta_dropped_t dr = {0};
    hs_meta_mpu_t *u = NULL;
    hs_kv_txn_t *txn;
    int rc = hs_kv_txn_begin(m->kv, 0, &txn);
    if (rc < 0) return rc;
    rc = upload_load(txn, bucket, upload_id, &u);
    if (rc == 0) rc = upload_remove(txn, bucket, u, NULL, 0, &dr);
    free(u);
    if (rc == 0) rc = hs_kv_txn_commit(txn);
    else hs_kv_txn_abort(txn);
    if (rc < 0) hs_meta_dropped_free(&dr);
    else hs__meta_dropped_move(dropped, &dr);
    return rc;
}

/* Client etags may come quoted and in either case. */
static bool etag_match(const char *client, const char *stored)
{
    size_t n = strlen(client);
    if (n >= 2 && client[0] == '"' && client[n - 1] == '"') {
        client++;
        n -= 2;
    }
    return n == strlen(stored) && strncasecmp(client, stored, n) == 0;
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The multipart etag: md5 over the parts' binary md5s, hex, "-N". */
static int mpu_etag(const hs__meta_partrec_t *pr, unsigned n, char out[48])
{
    uint8_t *bin = malloc((size_t)n * 16), md[EVP_MAX_MD_SIZE];
    unsigned mdl = 0;
    if (!bin) return HS_ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        if (strlen(pr[i].etag) != 32) {
            free(bin);
            return HS_META_EBADPART;
        }
        for (int j = 0; j < 16; j++) {
            int hi = unhex(pr[i].etag[2 * j]), lo = unhex(pr[i].etag[2 * j + 1]);
            if (hi < 0 || lo < 0) {
                free(bin);
                return HS_META_EBADPART;
            }
            bin[16 * i + (unsigned)j] = (uint8_t)(hi << 4 | lo);
        }
    }
    int ok = EVP_Digest(bin, (size_t)n * 16, md, &mdl, EVP_md5(), NULL);
    free(bin);
    if (!ok || mdl != 16) return HS_EIO;
    for (int j = 0; j < 16; j++)
        snprintf(out + 2 * j, 3, "%02x", md[j]);
    snprintf(out + 32, 16, "-%u", n);
    return 0;
}

typedef struct complete_job {
    const char *bucket, *upload_id;
    const hs_meta_complete_part_t *parts;
    unsigned n;
    bool want_rec;
    hs__meta_partrec_t *pr; /* n entries, scratch */
    hs_meta_seg_t *segs;    /* n entries, scratch */
    hs_meta_dropped_t dr;
    hs_meta_obj_t *out;
} complete_job_t;

/* The whole check-and-swap of a complete inside one (child) transaction.
 * It may run on another caller's thread (group commit), so everything it
 * produces goes into the job and nothing outlives it but dr and out. */
static int complete_fn(hs_kv_txn_t *txn, void *arg)
{
    complete_job_t *j = arg;
    const hs_meta_complete_part_t *parts = j->parts;
    unsigned n = j->n;
    hs__meta_partrec_t *pr = j->pr;
    hs_meta_seg_t *segs = j->segs;
    hs_meta_mpu_t *u = NULL;
    uint8_t *enc = NULL;
    size_t enclen = 0;
    int rc = upload_load(txn, j->bucket, j->upload_id, &u);
    uint64_t size = 0;
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        uint8_t k[HS__META_KEY_CAP];
        hs_kv_val_t v;
        if (parts[i].number < 1 || parts[i].number > HS_META_PART_MAX || !parts[i].etag) {
            rc = HS_META_EBADPART;
            break;
        }
        rc = hs_kv_get(txn, k, hs__meta_key_part(k, j->bucket, j->upload_id, parts[i].number), &v);
        if (rc == HS_ENOENT) rc = HS_META_EBADPART;
        if (rc == 0) rc = hs__meta_part_dec(&pr[i], v.data, v.len);
        if (rc == 0 && !etag_match(parts[i].etag, pr[i].etag)) rc = HS_META_EBADPART;
        if (rc == 0) {
            segs[i].name = pr[i].objname;
            segs[i].size = pr[i].size;
            size += pr[i].size;
        }
    }
    for (unsigned i = 0; rc == 0 && i + 1 < n; i++)
        if (pr[i].size < HS_META_PART_MIN_SIZE) rc = HS_META_ESMALL;
    char etag[48];
    if (rc == 0) rc = mpu_etag(pr, n, etag);
    hs_meta_obj_t rec;
    size_t tl = 0;
    if (rc == 0) {
        rec = u->tmpl;
        rec.size = size;
        rec.mtime_ns = hs__meta_now_ns();
        rec.parts = n;
        rec.etag = etag;
        rec.segs = segs;
        rec.nsegs = n;
        rec.seg_off = NULL;
        tl = u->keylen > HS__META_HEAD ? u->keylen - HS__META_HEAD : 0;
        rc = hs__meta_obj_enc(&rec, 2 + tl, &enc, &enclen);
    }
    if (rc == 0) rc = hs__meta_obj_install(txn, j->bucket, u->key, u->keylen, &rec, enc, enclen, &j->dr);
    if (rc == 0) rc = upload_remove(txn, j->bucket, u, parts, n, &j->dr);
    if (rc == 0 && j->want_rec) rc = hs__meta_obj_dec(enc + 2 + tl, enclen - 2 - tl, &j->out);
    free(enc);
    free(u);
    return rc;
}

int hs_meta_mpu_complete(hs_meta_t *m, const char *bucket, const char *upload_id,
                         const hs_meta_complete_part_t *parts, unsigned n, hs_meta_obj_t **out_rec,
                         hs_meta_dropped_t *dropped)
{
    if (!hs__meta_bucket_ok(bucket)) return HS_ENOBUCKET;
    if (n == 0 || n > HS_META_PART_MAX) return HS_EINVAL;
    for (unsigned i = 1; i < n; i++)
        if (parts[i].number <= parts[i - 1].number) return HS_META_EPARTORDER;
    complete_job_t j = {
        .bucket = bucket,
        .upload_id = upload_id,
        .parts = parts,
        .n = n,
        .want_rec = out_rec != NULL,
        .pr = malloc((size_t)n * sizeof(hs__meta_partrec_t)),
        .segs = malloc((size_t)n * sizeof(hs_meta_seg_t)),
    };
    /* Group commit, as a PUT's metadata write (docs/design/store.md "Group
     * commit"): the order of durability is unchanged. Every listed part's
     * bytes were durable before its part record committed (UploadPart), and
     * a complete writes no bytes, only records; the child transaction keeps
     * the swap (object record in, upload and parts out) all-or-nothing on
     * its own; we return only after the shared commit is durable, and the
     * caller deletes the dropped objects (unlisted parts, the replaced
     * object's segments) only after that return. A crash before the shared
     * commit leaves the upload as it was, unacknowledged and retryable. */
    int rc = j.pr && j.segs ? hs_kv_group_run(m->kv, complete_fn, &j) : HS_ENOMEM;
    free(j.pr);
    free(j.segs);
    if (rc < 0) {
        hs_meta_dropped_free(&j.dr);
        free(j.out);
        return rc;
    }
    hs__meta_dropped_move(dropped, &j.dr);
    if (out_rec) *out_rec = j.out;
    return 0;
}
