#include "spawn_bridge.h"

#include <string>
#include <vector>

#include "fault.h"
#include "process_spawn.h"

namespace talk2me::addon {

Napi::Value SpawnPiped(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) {
    throw Napi::TypeError::New(env, "Expected spawnPiped(file: string, args: string[])");
  }
  const std::string file = info[0].As<Napi::String>();
  const Napi::Array js_args = info[1].As<Napi::Array>();
  std::vector<std::string> args;
  args.reserve(js_args.Length());
  for (uint32_t i = 0; i < js_args.Length(); ++i) {
    const Napi::Value arg = js_args.Get(i);
    if (!arg.IsString()) throw Napi::TypeError::New(env, "Expected every argument to be a string");
    args.push_back(arg.As<Napi::String>());
  }
  fault_point("spawnPiped");
  const SpawnedProcess child = spawn_piped(file, args);
  Napi::Object js = Napi::Object::New(env);
  js.Set("pid", Napi::Number::New(env, child.pid));
  js.Set("stdout", Napi::Number::New(env, child.stdout_fd));
  js.Set("stderr", Napi::Number::New(env, child.stderr_fd));
  return js;
}

Napi::Value ReapChild(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "Expected reapChild(pid: number)");
  const pid_t pid = static_cast<pid_t>(info[0].As<Napi::Number>().Int32Value());
  fault_point("reapChild");
  const std::optional<ExitStatus> status = try_reap(pid);
  if (!status) return env.Null();
  Napi::Object js = Napi::Object::New(env);
  js.Set("code", Napi::Number::New(env, status->code));
  js.Set("signal", Napi::Number::New(env, status->signal));
  return js;
}

}  // namespace talk2me::addon
