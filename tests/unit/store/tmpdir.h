/* Temporary directories for tests: created under $TMPDIR, removed
 * recursively at the end. */
#ifndef HS_TEST_TMPDIR_H
#define HS_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

static int tmp_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static inline void tmp_rm(const char *dir)
{
    nftw(dir, tmp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *tmp_make(char *buf, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(buf, cap, "%s/hs-%s-XXXXXX", base, tag);
    return mkdtemp(buf);
}

#endif
