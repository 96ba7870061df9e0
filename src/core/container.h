/* container_of: from a pointer to a member back to its enclosing struct. */
#ifndef HS_CORE_CONTAINER_H
#define HS_CORE_CONTAINER_H

#include <stddef.h>

/* The void * step tells the compiler the alignment is the struct's own. */
#define hs_container_of(ptr, type, member)                                     \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
