// `bonsai build`: runs a Dockerfile with no daemon and stores the image.
//
//   Dockerfile --load_dockerfile/plan_build--> stages the target needs
//     --> one thread per stage, each waiting only for the stages it reads (FROM, COPY --from,
//         RUN --mount from=), so independent stages run in parallel
//     --> per step: cache key -> hit (reuse the recorded layer) or run:
//           RUN        LinuxSandbox on an overlay of the layer snapshots, fresh upper dir
//           COPY/ADD   copy_files into a detached overlay of the same snapshots
//           WORKDIR    mkdir -p, owned by the current USER
//           others     image config and history only, no layer
//         and the upper dir is committed as a layer (commit_upper_dir), then kept as that
//         layer's snapshot for the next step (a COPY/ADD/WORKDIR with no step after it that
//         works on the tree runs in a tmpfs and keeps none)
//     --> config + manifest blobs --> index.json under the requested tags.
//
// docs/build.md describes the cache keys, the step semantics and where they follow BuildKit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "archive/compress.h"
#include "build/progress.h"
#include "dockerfile/env.h"
#include "oci/image.h"
#include "store/reference.h"
#include "util/sandbox.h"

namespace bonsai::build {

struct SecretSource {
  std::string id;
  std::string path;  // host file
};

// --ssh: an ssh-agent socket the build may use through RUN --mount=type=ssh.
struct SshSource {
  std::string id;      // "default" unless named
  std::string socket;  // host path of the agent's socket
};

struct BuildRequest {
  std::string context_dir;      // empty: no context (Dockerfile read from stdin)
  std::string dockerfile_name;  // for messages and for finding <name>.dockerignore
  std::string dockerfile_text;
  dockerfile::Env build_args;
  std::string target;  // empty: the last stage
  bool no_cache = false;
  util::SandboxNetwork network = util::SandboxNetwork::kNone;
  std::vector<SecretSource> secrets;
  std::vector<SshSource> ssh;
  std::vector<std::pair<std::string, std::string>> labels;  // --label, added to the image
  std::vector<store::Reference> tags;
  std::optional<int64_t> source_date_epoch;  // fixes every timestamp when set
  archive::Compression compression = archive::Compression::kGzip;
  // The most a COPY/ADD/WORKDIR that no later step builds on may write to a tmpfs upper dir
  // (docs/build.md, "Filesystem steps"): nullopt for a quarter of the RAM, 0 for never.
  std::optional<uint64_t> memory_upper_bytes;
};

struct BuildResult {
  oci::Descriptor manifest;
  oci::Digest id;  // config digest: the IMAGE ID
};

// Builds the request's target in the store at root. Progress receives every step.
util::Result<BuildResult> build_image(const std::string& root, const BuildRequest& request,
                                      util::Sandbox& sandbox, Progress& progress);

}  // namespace bonsai::build
