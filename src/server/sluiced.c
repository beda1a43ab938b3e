/* sluiced.c - main() of the sluice daemon: configuration, then the loop. */
#include <stdio.h>

#include "daemon.h"

int main(int argc, char **argv)
{
    struct sl_config cfg;
    struct sl_err err;
    int exit_now;
    sl_config_default(&cfg, SLUICE_SOURCE_DIR "/policies");
    if (sl_config_parse_args(&cfg, argc, argv, &exit_now, &err)) {
        fprintf(stderr, "sluiced: %s\n", err.msg);
        return 2;
    }
    if (exit_now >= 0)
        return exit_now;
    static struct sl_daemon d;
    if (sl_daemon_start(&d, &cfg, argc, argv, &err)) {
        fprintf(stderr, "sluiced: %s\n", err.msg);
        sl_daemon_stop(&d);
        return 1;
    }
    int rc = sl_daemon_run(&d);
    sl_daemon_stop(&d);
    return rc;
}
