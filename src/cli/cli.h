/* cli.h - the sluice command's subcommands, one file each (sluice.c holds the
 * dispatch table, help and the policy commands). Uses the public headers of
 * the layers below; talks to sluiced only over its HTTP API. */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <stdbool.h>

/* sluice status [ID] [--json] [--watch SECONDS] [--url URL] */
int sl_cmd_status(int argc, char **argv);
/* sluice repl [--socket PATH | --data DIR] */
int sl_cmd_repl(int argc, char **argv);
/* sluice simulate SCENARIO.json [--policies DIR] [--seed N] [--svg FILE] [--json] */
int sl_cmd_simulate(int argc, char **argv);

#endif
