// Stages and the meaning of ARG: from a typed program and the build options to the stages a
// target needs, with every expandable word expanded.
//
// Rules (as the reference frontend applies them):
// - ARGs before the first FROM are global. They may be used in FROM lines; inside a stage they
//   are visible only after the stage redeclares them with `ARG NAME` (taking the global value).
// - --build-arg values override ARG defaults, global or in a stage. Defaults are expanded with
//   what is in scope at that point.
// - TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, BUILDPLATFORM, BUILDOS, BUILDARCH and
//   BUILDVARIANT are predefined: available to FROM lines, and inside a stage once declared.
// - The proxy args (HTTP_PROXY, https_proxy, NO_PROXY, ...) may be passed without any ARG; RUN
//   sees them, history never records them.
// - ENV wins over an ARG of the same name when expanding. All pairs of one ENV or LABEL are
//   expanded against the environment before the instruction.
// - `FROM name` refers to an earlier stage called name, otherwise to an image. COPY --from and
//   RUN --mount from= accept a stage name (any stage), a stage index, or an image.
// - --target keeps only the stages the target depends on. An unknown target, a bad stage index
//   and a dependency cycle are errors.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dockerfile/env.h"
#include "dockerfile/instructions.h"
#include "util/error.h"

namespace bonsai::dockerfile {

struct BuildOptions {
  Env build_args;                               // --build-arg KEY=VALUE
  std::string target;                           // --target; empty means the last stage
  std::string target_platform = "linux/amd64";  // os/arch[/variant]
  std::string build_platform = "linux/amd64";
  // Optional: the environment in an image's config, so that words after `FROM image` can use
  // variables the image defines (as $GOPATH in FROM golang). Pure lookup; may be empty.
  std::function<Env(const std::string& image, const std::string& platform)> image_env;
};

struct Stage {
  int index = 0;                          // position among all stages of the Dockerfile
  std::string name;                       // lower-cased AS name, may be empty
  std::string base;                       // the expanded FROM reference
  std::optional<int> base_stage;          // index of the stage it builds on, when it does
  std::string platform;                   // expanded --platform, empty when not given
  std::vector<Instruction> instructions;  // after FROM, words expanded
  std::vector<int> deps;  // indexes of stages read by this one (base, --from, mounts)
  Location loc;

  // The name used in messages: the AS name or the index.
  std::string display_name() const { return name.empty() ? std::to_string(index) : name; }
};

struct BuildPlan {
  std::vector<Stage> stages;  // only those the target needs, in Dockerfile order
  int target = 0;             // Stage::index of the target
  Env global_args;            // ARGs before the first FROM with their final values
  std::vector<std::string> unused_build_args;
  std::vector<Diagnostic> warnings;

  const Stage* stage(int index) const;
  const Stage& target_stage() const { return *stage(target); }
};

// Plans the build: expands, resolves stages and prunes to the target. Reports every error.
util::Result<BuildPlan> plan_build(const Program& program, const BuildOptions& options);

// True for the proxy build args that need no ARG and are kept out of history.
bool is_proxy_arg(std::string_view name);

}  // namespace bonsai::dockerfile
