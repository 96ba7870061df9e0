/*
 * Background maintenance of a store: one thread per store that scrubs at a
 * bounded rate (every block read and verified; bad or missing fragments
 * rebuilt), runs the tiering policy, and reclaims space — so a server gets
 * bitrot protection, healing and tiering without an operator. The pause
 * between passes is interruptible, so stopping is prompt. gc here never
 * waits for the exclusive lock: under a steady stream of writes it may be
 * postponed (flock gives a waiting exclusive locker no preference), which
 * costs space for a while, never a stalled write.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "objects/internal.h"
#include "objects/objects.h"

struct hs_obj_bg {
    hs_objects_t *s;
    hs_obj_bg_opts_t o;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    uint64_t passes;
};

static void *bg_main(void *arg)
{
    hs_obj_bg_t *bg = arg;
    hs_objects_t *s = bg->s;
    for (;;) {
        hs_obj_report_t rep;
        if (bg->o.scrub_rate_bps) {
            hs_obj_maint_opts_t mo = {.rate_bps = bg->o.scrub_rate_bps};
            int rc = hs_objects_scrub(s, &mo, &rep);
            if (rep.frags_rebuilt || rep.frags_corrupt || rep.frags_missing || rc < 0)
                hs_log_warn("objects_scrub",
                            "stripes=%llu missing=%llu corrupt=%llu rebuilt=%llu "
                            "lost=%llu rc=%s",
                            (unsigned long long)rep.stripes, (unsigned long long)rep.frags_missing,
                            (unsigned long long)rep.frags_corrupt,
                            (unsigned long long)rep.frags_rebuilt,
                            (unsigned long long)rep.stripes_lost, rc < 0 ? hs_errname(rc) : "ok");
        }
        if (bg->o.tiering && !bg->stop) hs_objects_tier_pass(s, 0, NULL, &rep);
        if (bg->o.gc && !bg->stop) {
            /* gc takes the exclusive lock in short steps and, here, ends
             * the run at a step whose lock it cannot get (puts keep
             * holding the shared lock); the next round resumes from the
             * durable queues. */
            hs_obj_maint_opts_t mo = {.nonblock = true};
            int rc = hs_objects_gc(s, &mo, &rep);
            if (rep.chunks_freed || rep.stripes_compacted || rep.stripes_freed ||
                rep.orphans_removed || (rc < 0 && rc != HS_EBUSY))
                hs_log_info("objects_gc",
                            "chunks_freed=%llu compacted=%llu stripes_freed=%llu "
                            "orphans_removed=%llu rc=%s",
                            (unsigned long long)rep.chunks_freed,
                            (unsigned long long)rep.stripes_compacted,
                            (unsigned long long)rep.stripes_freed,
                            (unsigned long long)rep.orphans_removed,
                            rc == HS_EBUSY ? "postponed" : rc < 0 ? hs_errname(rc) : "ok");
        }
        pthread_mutex_lock(&bg->mu);
        bg->passes++;
        pthread_cond_broadcast(&bg->cv);
        if (!bg->stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            uint64_t ns = (uint64_t)until.tv_nsec + bg->o.interval_ms * 1000000ull;
            until.tv_sec += (time_t)(ns / 1000000000ull);
            until.tv_nsec = (long)(ns % 1000000000ull);
            while (!bg->stop && pthread_cond_timedwait(&bg->cv, &bg->mu, &until) == 0)
                ;
        }
        int stop = bg->stop;
        pthread_mutex_unlock(&bg->mu);
        if (stop) break;
    }
    return NULL;
}

int hs_objects_bg_start(hs_objects_t *s, const hs_obj_bg_opts_t *opts, hs_obj_bg_t **out)
{
    hs_obj_bg_t *bg = calloc(1, sizeof(*bg));
    if (!bg) return HS_ENOMEM;
    bg->s = s;
    if (opts) {
        bg->o = *opts;
    } else {
        bg->o.scrub_rate_bps = 64ull << 20;
        bg->o.tiering = true;
        bg->o.gc = true;
    }
    if (bg->o.interval_ms == 0) bg->o.interval_ms = 60000;
    pthread_mutex_init(&bg->mu, NULL);
    pthread_cond_init(&bg->cv, NULL);
    if (pthread_create(&bg->th, NULL, bg_main, bg) != 0) {
        pthread_mutex_destroy(&bg->mu);
        pthread_cond_destroy(&bg->cv);
        free(bg);
        return HS_EAGAIN;
    }
    *out = bg;
    return 0;
}

uint64_t hs_objects_bg_stop(hs_obj_bg_t *bg)
{
    if (!bg) return 0;
    pthread_mutex_lock(&bg->mu);
    bg->stop = 1;
    pthread_cond_broadcast(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
    pthread_join(bg->th, NULL);
    uint64_t n = bg->passes;
    pthread_mutex_destroy(&bg->mu);
    pthread_cond_destroy(&bg->cv);
    free(bg);
    return n;
}
