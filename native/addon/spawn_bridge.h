#pragma once
// spawnPiped(file, args) → { pid, stdout, stderr } (file descriptors) and reapChild(pid) →
// { code, signal } | null: native/core/process_spawn's vfork + exec, for starting ffmpeg from the
// model's process without fork()'s copy-on-write cost. Both are synchronous and quick; nothing
// waits on the thread pool for a child to end.
#include <napi.h>

namespace talk2me::addon {

Napi::Value SpawnPiped(const Napi::CallbackInfo &info);
Napi::Value ReapChild(const Napi::CallbackInfo &info);

}  // namespace talk2me::addon
