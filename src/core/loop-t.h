/* Event-loop types: embed hs_io_t / hs_timer_t in your own structs. */
#ifndef HS_CORE_LOOP_T_H
#define HS_CORE_LOOP_T_H

#include <stdbool.h>
#include <stdint.h>

typedef struct hs_loop hs_loop_t;
typedef struct hs_io hs_io_t;
typedef struct hs_timer hs_timer_t;

/* events: HS_IO_READ | HS_IO_WRITE, plus HS_IO_ERROR on hang-up/error. */
enum { HS_IO_READ = 1, HS_IO_WRITE = 2, HS_IO_ERROR = 4 };

typedef void (*hs_io_cb)(hs_loop_t *loop, hs_io_t *io, unsigned events);
typedef void (*hs_timer_cb)(hs_loop_t *loop, hs_timer_t *timer);

struct hs_io {
    int fd;
    unsigned events; /* currently registered */
    hs_io_cb cb;
    uint64_t since;  /* loop iteration it started in (events older than it are not its) */
};

struct hs_timer {
    uint64_t when;    /* heap key, ms on the loop clock */
    uint64_t want;    /* real deadline: may be later than `when` (lazy re-arm) */
    unsigned heap_at; /* 1-based heap index; 0 = not queued */
    hs_timer_cb cb;
};

#endif
