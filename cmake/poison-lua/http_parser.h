/* Poison header for src/lua: the Lua layer sits below the server and CLI. */
#error "src/lua must not include <http_parser.h>: that belongs to src/server or src/cli"
