/* Object-store options from configuration (see objopts.h). */
#include "cmd/objopts.h"

#include <stdlib.h>
#include <string.h>

#include "objects/tier.h"

void hs_cmd_objopts(const hs_config_t *cfg, hs_cmd_objopts_t *oo)
{
    memset(oo, 0, sizeof(*oo));
    oo->o = (hs_objects_opts_t){
        .ndrives = (int)cfg->objects_drives,
        .chunk_min = (uint32_t)cfg->objects_chunk_min,
        .chunk_avg = (uint32_t)cfg->objects_chunk_avg,
        .chunk_max = (uint32_t)cfg->objects_chunk_max,
    };
    if (cfg->objects_drive_dirs && cfg->objects_drive_dirs[0]) {
        int n = 0;
        oo->dirs_copy = strdup(cfg->objects_drive_dirs);
        for (char *save = NULL, *t = oo->dirs_copy ? strtok_r(oo->dirs_copy, ",", &save) : NULL;
             t && n < 64; t = strtok_r(NULL, ",", &save))
            oo->dirs[n++] = t;
        oo->o.drive_dirs = oo->dirs;
        oo->o.ndrives = 0;
    }
    if (getenv("HS_OBJECTS_NO_FSYNC"))
        oo->o.no_fsync = true; /* benchmarks of CPU cost only */
    hs_tier_policy_t pol = {
        .half_life_ns = cfg->objects_tier_half_life * 1000000ull,
        .hot_window_ns = cfg->objects_tier_hot_window * 1000000ull,
        .warm_window_ns = cfg->objects_tier_warm_window * 1000000ull,
        .min_age_ns = cfg->objects_tier_min_age * 1000000ull,
    };
    if (pol.half_life_ns == 0)
        pol.half_life_ns = 1;
    hs_tier_policy_set(&pol);
}

void hs_cmd_objopts_free(hs_cmd_objopts_t *oo)
{
    free(oo->dirs_copy);
    oo->dirs_copy = NULL;
}
