/* loop.h - the one includer of <ev.h> in sluice, and the container_of helper.
 *
 * Provides libev to the server layer (src/server) and sl_container_of, which
 * recovers the struct that owns an embedded watcher. Every watcher lives
 * inside the struct that owns it; never free or move a struct whose watcher
 * is active. */
#ifndef SL_LOOP_H
#define SL_LOOP_H

#include <ev.h>
#include <stddef.h>

#define sl_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
