/* Messages and names for the HS_E* codes of err.h. */
#include "core/err.h"

#include <string.h>

const char *hs_strerror(int err)
{
    switch (err) {
#define HS_ERR_MSG(name, val, msg)                                             \
    case val:                                                                  \
        return msg;
        HS_ERRNO_MAP(HS_ERR_MSG)
#undef HS_ERR_MSG
    case 0:
        return "success";
    default:
        return err < 0 && err > -4096 ? strerror(-err) : "unknown error";
    }
}

const char *hs_errname(int err)
{
    switch (err) {
#define HS_ERR_NAME(name, val, msg)                                            \
    case val:                                                                  \
        return #name;
        HS_ERRNO_MAP(HS_ERR_NAME)
#undef HS_ERR_NAME
    default:
        return "E?";
    }
}
