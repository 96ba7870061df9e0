/* The hyperscale program: a thin main over libhyperscale's CLI table. */
#include "cmd/cli.h"

int main(int argc, char **argv)
{
    return hs_cli_main(argc, argv);
}
