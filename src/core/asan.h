/*
 * AddressSanitizer hooks for our own allocators (arena, pool): with ASan,
 * memory an allocator holds but has not handed out is poisoned, so a stray
 * access is reported like one into freed malloc memory. Without ASan the
 * macros compile to nothing.
 */
#ifndef HS_CORE_ASAN_H
#define HS_CORE_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define HS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HS_ASAN 1
#endif
#endif

#ifdef HS_ASAN
#include <sanitizer/asan_interface.h>
#define HS_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define HS_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
/* Poisoned gap left after each arena allocation. */
#define HS_ASAN_REDZONE 16
#else
#define HS_POISON(p, n) ((void)(p), (void)(n))
#define HS_UNPOISON(p, n) ((void)(p), (void)(n))
#define HS_ASAN_REDZONE 0
#endif

#endif
