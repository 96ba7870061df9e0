/* Every subcommand, in the order `hyperscale help` lists them. Each names
 * a `const hs_cmd_t hs_cmd_<name>` defined in src/cmd/cmd_<name>.c. */
HS_CMD(up)
HS_CMD(static)
HS_CMD(origin)
HS_CMD(edge)
HS_CMD(objects)
HS_CMD(bench)
HS_CMD(config)
HS_CMD(version)
