/*
 * Object-store options from the objects.* configuration keys, shared by
 * every command that opens a store (objects, origin, up).
 */
#ifndef HS_CMD_OBJOPTS_H
#define HS_CMD_OBJOPTS_H

#include "core/config.h"
#include "objects/objects-t.h"

typedef struct hs_cmd_objopts {
    hs_objects_opts_t o;
    char *dirs_copy;           /* storage behind o.drive_dirs */
    const char *dirs[65];
} hs_cmd_objopts_t;

/* Fills oo from cfg (and sets the tiering policy, which is process-wide).
 * Free with hs_cmd_objopts_free. */
void hs_cmd_objopts(const hs_config_t *cfg, hs_cmd_objopts_t *oo);
void hs_cmd_objopts_free(hs_cmd_objopts_t *oo);

#endif
