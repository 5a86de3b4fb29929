// Typed instructions: what each Dockerfile instruction means, with its flags checked. This layer
// turns the syntax tree (parser.h) into values a builder can act on, and rejects unknown
// instructions and flags, missing arguments and malformed flag values, naming the line.
//
// Words that the reference expands against the build environment (ENV values, COPY paths, ...)
// are kept here as written; stages.cc expands them while walking each stage, because their
// values depend on the ARG and ENV instructions before them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dockerfile/diagnostics.h"
#include "dockerfile/parser.h"
#include "util/error.h"

namespace bonsai::dockerfile {

struct Location {
  int line = 0;  // 1-based start line
  int end_line = 0;
  int column = 1;
};

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

// A command that runs in a shell unless given in exec (JSON) form.
struct ShellCommand {
  std::vector<std::string> args;  // exec form: argv; shell form: one string
  bool prepend_shell = false;     // shell form
  std::vector<Heredoc> files;     // RUN heredocs (bodies fed to the command)
};

struct FromInstr {
  std::string base;        // image reference or earlier stage name, unexpanded
  std::string stage_name;  // lower-cased AS name, empty when unnamed
  std::string platform;    // --platform, unexpanded
};

enum class MountType { kBind, kCache, kTmpfs, kSecret, kSsh };
enum class CacheSharing { kShared, kPrivate, kLocked };

struct Mount {
  MountType type = MountType::kBind;
  std::string from;    // stage, index or image (bind, cache)
  std::string source;  // path in `from`, or secret/ssh source
  std::string target;
  bool read_only = true;  // bind defaults to read-only; cache and tmpfs to read-write
  std::string cache_id;
  CacheSharing sharing = CacheSharing::kShared;
  std::optional<uint32_t> mode, uid, gid;
  bool required = false;               // secret, ssh
  std::string env;                     // secret: expose as this environment variable
  std::optional<uint64_t> size_bytes;  // tmpfs
};

enum class NetworkMode { kDefault, kNone, kHost };
enum class SecurityMode { kSandbox, kInsecure };

struct RunInstr {
  ShellCommand cmd;
  std::vector<std::string> mount_specs;  // raw --mount values, expanded and parsed at plan time
  std::vector<Mount> mounts;             // filled by the planner from mount_specs
  NetworkMode network = NetworkMode::kDefault;
  SecurityMode security = SecurityMode::kSandbox;
};

struct CmdInstr {
  ShellCommand cmd;
};
struct EntrypointInstr {
  ShellCommand cmd;
};
struct ShellInstr {
  std::vector<std::string> shell;
};
struct EnvInstr {
  std::vector<KeyValue> vars;
};
struct LabelInstr {
  std::vector<KeyValue> labels;
};
struct ArgDef {
  std::string name;
  std::optional<std::string> value;  // default, unexpanded
};
struct ArgInstr {
  std::vector<ArgDef> args;
};
struct ExposeInstr {
  std::vector<std::string> ports;  // as written ("80", "8000-8010/udp", "$PORT")
};
struct VolumeInstr {
  std::vector<std::string> paths;
};
struct UserInstr {
  std::string user;
};
struct WorkdirInstr {
  std::string path;
};

// Inline content for COPY/ADD from a heredoc.
struct InlineSource {
  std::string path;  // the heredoc name
  std::string data;
  bool expand = true;
};

struct CopyInstr {
  bool is_add = false;
  std::vector<std::string> sources;
  std::vector<InlineSource> inline_sources;
  std::string dest;
  std::string from;  // COPY --from: stage name, stage index or image
  std::string chown;
  std::string chmod;
  bool link = false;
  bool parents = false;
  std::vector<std::string> excludes;
  std::string checksum;        // ADD
  bool keep_git_dir = false;   // ADD
  std::optional<bool> unpack;  // ADD --unpack
};

struct HealthcheckInstr {
  bool none = false;              // HEALTHCHECK NONE
  std::vector<std::string> test;  // ["CMD", args...] or ["CMD-SHELL", cmd]
  std::chrono::nanoseconds interval{0}, timeout{0}, start_period{0}, start_interval{0};
  int retries = 0;
};
struct StopSignalInstr {
  std::string signal;
};
struct OnbuildInstr {
  std::string expression;  // the trigger instruction as written
};
struct MaintainerInstr {
  std::string name;
};

using InstructionData =
    std::variant<FromInstr, RunInstr, CmdInstr, EntrypointInstr, ShellInstr, EnvInstr, LabelInstr,
                 ArgInstr, ExposeInstr, VolumeInstr, UserInstr, WorkdirInstr, CopyInstr,
                 HealthcheckInstr, StopSignalInstr, OnbuildInstr, MaintainerInstr>;

struct Instruction {
  InstructionData data;
  Location loc;
  std::string keyword;   // upper-case instruction name ("COPY")
  std::string original;  // the logical source line
  // Filled by the planner: the build args in scope at this instruction (declared ARGs with a
  // value, plus proxy args), which RUN exports to its command.
  std::vector<KeyValue> args;
};

// Types one syntax node. Problems are recorded in `diags`; returns nullopt when the node is
// unusable.
std::optional<Instruction> parse_instruction(const Node& node, Diagnostics& diags);

// The whole file, typed. `syntax` keeps the tree for dumps and directives.
struct Program {
  Dockerfile syntax;
  std::vector<Instruction> instructions;
};

// Parses and types a Dockerfile, reporting every syntax and instruction error at once.
util::Result<Program> load_dockerfile(std::string_view text,
                                      std::string_view filename = "Dockerfile");

// Go's time.ParseDuration ("1m30s", "1.5h", "300ms").
util::Result<std::chrono::nanoseconds> parse_go_duration(std::string_view s);

// Parses one --mount value (already expanded): "type=cache,target=/root/.cache,sharing=locked".
util::Result<Mount> parse_mount(std::string_view spec);

// A parsed EXPOSE entry.
struct PortSpec {
  uint16_t first = 0;
  uint16_t last = 0;  // == first unless a range
  std::string proto;  // tcp, udp or sctp
  bool operator==(const PortSpec&) const = default;
};
util::Result<PortSpec> parse_port_spec(std::string_view spec);

}  // namespace bonsai::dockerfile
