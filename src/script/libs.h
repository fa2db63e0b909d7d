/* libs.h -- the Lua libraries Redis loads into every script that Debian
 * does not package: cmsgpack (MessagePack) and struct (binary packing),
 * with the API and encodings of the versions Redis bundles. */
#ifndef CAIRN_SCRIPT_LIBS_H
#define CAIRN_SCRIPT_LIBS_H

#include <lua.h>

int luaopen_cmsgpack(lua_State *L);
int luaopen_struct(lua_State *L);

#endif
