/* Poison header: placed first on src/core's include path so that an upward
 * dependency fails to compile. See STYLE.md, "Layers you can see". */
#error "src/core must not include <ev.h>: the core knows nothing of Lua, libev, HTTP, JSON, SQLite or terminals"
