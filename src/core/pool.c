/* Bounded free-list pool (see pool.h). */
#include "core/pool.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/asan.h"

#define POOL_ALIGN 16

void hs_pool_init(hs_pool_t *p, size_t obj_size, unsigned max_free, unsigned max_live)
{
    memset(p, 0, sizeof(*p));
    if (obj_size < sizeof(void *))
        obj_size = sizeof(void *);
    p->obj_size = (obj_size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
    p->max_free = max_free;
    p->max_live = max_live;
}

void *hs_pool_get(hs_pool_t *p)
{
    if (p->max_live && p->live >= p->max_live)
        return NULL;
    void *obj = p->free_list;
    if (obj) {
        HS_UNPOISON(obj, p->obj_size);
        memcpy(&p->free_list, obj, sizeof(void *));
        p->nfree--;
    } else {
        obj = aligned_alloc(POOL_ALIGN, p->obj_size);
        if (!obj)
            return NULL;
    }
    p->live++;
    return obj;
}

void hs_pool_put(hs_pool_t *p, void *obj)
{
    assert(obj && p->live > 0);
    p->live--;
    if (p->nfree >= p->max_free) {
        free(obj);
        return;
    }
    memcpy(obj, &p->free_list, sizeof(void *));
    HS_POISON(obj, p->obj_size);
    p->free_list = obj;
    p->nfree++;
}

void hs_pool_destroy(hs_pool_t *p)
{
    void *obj = p->free_list;
    while (obj) {
        void *next;
        HS_UNPOISON(obj, p->obj_size);
        memcpy(&next, obj, sizeof(void *));
        free(obj);
        obj = next;
    }
    p->free_list = NULL;
    p->nfree = 0;
}
