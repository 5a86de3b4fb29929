// bonsai build: `docker build` with no daemon (the executor is build/builder.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "build/builder.h"
#include "cli/common.h"
#include "store/archive_io.h"
#include "sys/fd.h"
#include "sys/linux_sandbox.h"

namespace bonsai::cli {

namespace {

using util::ErrorKind;
using util::fail;

struct BuildFlags {
  std::string context, file, target, network = "none", progress = "auto", iidfile, output, platform;
  std::vector<std::string> tags, build_args, secrets, ssh, labels;
  bool no_cache = false, quiet = false;
};

util::Result<std::pair<std::string, std::string>> key_value(const std::string& flag,
                                                            const std::string& text) {
  size_t eq = text.find('=');
  if (eq == 0 || text.empty())
    return fail(ErrorKind::kInvalidArgument, flag + " " + text + ": expected KEY=VALUE");
  if (eq == std::string::npos) {
    // --build-arg KEY takes the value from the environment, as Docker does.
    const char* env = std::getenv(text.c_str());
    if (!env) return std::pair<std::string, std::string>(text, "\x01");
    return std::pair<std::string, std::string>(text, env);
  }
  return std::pair<std::string, std::string>(text.substr(0, eq), text.substr(eq + 1));
}

// "k=v,k2=v2" as key/value pairs ("k" alone has an empty value).
std::vector<std::pair<std::string, std::string>> fields(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string field = text.substr(pos, comma - pos);
    pos = comma + 1;
    size_t eq = field.find('=');
    out.emplace_back(field.substr(0, eq), eq == std::string::npos ? "" : field.substr(eq + 1));
  }
  return out;
}

// "id=mysecret,src=/path" (also source=, and env= is not taken here).
util::Result<build::SecretSource> parse_secret(const std::string& text) {
  build::SecretSource s;
  for (const auto& [k, v] : fields(text)) {
    if (k == "id")
      s.id = v;
    else if (k == "src" || k == "source")
      s.path = v;
    else if (k == "type" && v == "file")
      continue;
    else
      return fail(ErrorKind::kInvalidArgument, "--secret " + text + ": unknown field " + k);
  }
  if (s.id.empty())
    return fail(ErrorKind::kInvalidArgument, "--secret " + text + ": id= is required");
  if (s.path.empty()) s.path = s.id;
  if (::access(s.path.c_str(), R_OK) != 0)
    return util::sys_fail("--secret " + text + ": read " + s.path);
  return s;
}

// --ssh default|ID[=SOCKET]: an ssh-agent socket ($SSH_AUTH_SOCK when none is named). Docker
// also takes key files, for which BuildKit runs an agent of its own; bonsai takes sockets only.
util::Result<build::SshSource> parse_ssh(const std::string& text) {
  build::SshSource s;
  size_t eq = text.find('=');
  s.id = text.substr(0, eq);
  if (eq != std::string::npos) s.socket = text.substr(eq + 1);
  if (s.id.empty()) return fail(ErrorKind::kInvalidArgument, "--ssh " + text + ": no id");
  if (s.socket.find(',') != std::string::npos)
    return fail(ErrorKind::kUnsupported,
                "--ssh " + text + ": only one agent socket per id (key files are not supported)");
  if (s.socket.empty()) {
    const char* env = std::getenv("SSH_AUTH_SOCK");
    if (env == nullptr || *env == '\0')
      return fail(ErrorKind::kInvalidArgument,
                  "--ssh " + text + ": SSH_AUTH_SOCK is not set: start ssh-agent or name a socket");
    s.socket = env;
  }
  struct stat st;
  if (::stat(s.socket.c_str(), &st) != 0) return util::sys_fail("--ssh " + text + ": " + s.socket);
  if (!S_ISSOCK(st.st_mode))
    return fail(ErrorKind::kUnsupported,
                "--ssh " + text + ": " + s.socket +
                    " is not an agent socket (key files are not supported: ssh-add the key to an "
                    "ssh-agent and pass its socket)");
  return s;
}

// --output type=docker|oci,dest=FILE
util::Result<std::pair<store::ArchiveFormat, std::string>> parse_output(const std::string& text) {
  std::string type, dest;
  for (const auto& [k, v] : fields(text)) {
    if (k == "type")
      type = v;
    else if (k == "dest")
      dest = v;
    else
      return fail(ErrorKind::kInvalidArgument, "--output " + text + ": unknown field " + k);
  }
  if (type != "docker" && type != "oci")
    return fail(ErrorKind::kInvalidArgument,
                "--output " + text + ": type must be docker or oci (got \"" + type + "\")");
  if (dest.empty())
    return fail(ErrorKind::kInvalidArgument, "--output " + text + ": dest= is required");
  return std::pair(type == "docker" ? store::ArchiveFormat::kDocker : store::ArchiveFormat::kOci,
                   dest);
}

// Everything the flags say, checked, as a build request.
util::Result<build::BuildRequest> make_request(const BuildFlags& f) {
  build::BuildRequest req;
  // The Dockerfile: from stdin when the context or -f is "-".
  bool stdin_file = f.context == "-" || f.file == "-";
  if (f.context != "-") {
    char* real = ::realpath(f.context.c_str(), nullptr);
    if (!real) return util::sys_fail("build context " + f.context);
    req.context_dir = real;
    std::free(real);
  }
  req.dockerfile_name = f.file.empty() || f.file == "-" ? "Dockerfile" : f.file;
  if (stdin_file) {
    sys::FdReader in(0, "stdin");
    req.dockerfile_text = TRY(util::read_all(in, 16 << 20));
  } else {
    std::string path = f.file.empty() ? req.context_dir + "/Dockerfile" : f.file;
    req.dockerfile_text = TRY_CTX(sys::read_file(path, 16 << 20), "read Dockerfile");
    size_t slash = path.rfind('/');
    req.dockerfile_name = slash == std::string::npos ? path : path.substr(slash + 1);
  }
  for (const auto& t : f.tags) req.tags.push_back(TRY_CTX(store::parse_reference(t), "-t " + t));
  for (const auto& a : f.build_args) {
    auto [k, v] = TRY(key_value("--build-arg", a));
    if (v != "\x01") req.build_args.set(k, v);
    if (k == "SOURCE_DATE_EPOCH" && v != "\x01") {
      char* end = nullptr;
      long long epoch = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || epoch < 0)
        return fail(ErrorKind::kInvalidArgument, "SOURCE_DATE_EPOCH=" + v + ": not a number");
      req.source_date_epoch = epoch;
    }
  }
  for (const auto& l : f.labels) {
    auto [k, v] = TRY(key_value("--label", l));
    req.labels.emplace_back(k, v == "\x01" ? "" : v);
  }
  for (const auto& s : f.secrets) req.secrets.push_back(TRY(parse_secret(s)));
  for (const auto& s : f.ssh) req.ssh.push_back(TRY(parse_ssh(s)));
  if (f.network == "host")
    req.network = util::SandboxNetwork::kHost;
  else if (f.network != "none" && f.network != "default")
    return fail(ErrorKind::kInvalidArgument,
                "--network " + f.network + ": only none, default and host are supported");
  if (!f.platform.empty() && f.platform != "linux/amd64")
    return fail(ErrorKind::kUnsupported, "--platform " + f.platform + ": only linux/amd64");
  req.target = f.target;
  req.no_cache = f.no_cache;
  // BONSAI_MEMORY_UPPER_BYTES: how much a last COPY may hold in memory (0: always on disk).
  if (const char* env = std::getenv("BONSAI_MEMORY_UPPER_BYTES"); env && *env) {
    std::string v = env;
    char* end = nullptr;
    errno = 0;
    unsigned long long bytes = std::strtoull(v.c_str(), &end, 10);
    if (!std::isdigit(static_cast<unsigned char>(v[0])) || *end != '\0' || errno == ERANGE)
      return fail(ErrorKind::kInvalidArgument,
                  "BONSAI_MEMORY_UPPER_BYTES=" + v + ": not a number of bytes");
    req.memory_upper_bytes = bytes;
  }
  return req;
}

}  // namespace

void register_build(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand("build", "Build an image from a Dockerfile");
  auto f = std::make_shared<BuildFlags>();
  sub->add_option("context", f->context, "Build context directory, or - for a Dockerfile on stdin")
      ->required();
  sub->add_option("-f,--file", f->file, "Name of the Dockerfile (default: CONTEXT/Dockerfile)");
  sub->add_option("-t,--tag", f->tags, "Name and optionally a tag (name:tag)");
  sub->add_option("--target", f->target, "Set the target build stage to build");
  sub->add_option("--build-arg", f->build_args, "Set build-time variables");
  sub->add_flag("--no-cache", f->no_cache, "Do not use cache when building the image");
  sub->add_option("--network", f->network, "Networking mode for RUN instructions (none, host)");
  sub->add_option("--secret", f->secrets, "Secret to expose to the build: id=ID,src=PATH");
  sub->add_option("--ssh", f->ssh, "SSH agent socket to expose to the build: default|ID[=SOCKET]");
  sub->add_option("--label", f->labels, "Set metadata for an image");
  sub->add_option("--progress", f->progress, "Type of progress output (auto, plain, tty, quiet)");
  sub->add_flag("-q,--quiet", f->quiet, "Suppress the build output and print image ID on success");
  sub->add_option("--iidfile", f->iidfile, "Write the image ID to the file");
  sub->add_option("-o,--output", f->output, "Also write the image as type=docker|oci,dest=FILE");
  sub->add_option("--platform", f->platform, "Target platform (linux/amd64 only)");
  cmds.add(sub, [&g, f]() -> util::Status {
    // 1. Check the flags and read the Dockerfile.
    build::BuildRequest req = TRY(make_request(*f));
    build::ProgressMode mode = TRY(progress_mode(f->progress, f->quiet));
    std::optional<std::pair<store::ArchiveFormat, std::string>> output;
    if (!f->output.empty()) output = TRY(parse_output(f->output));
    // 2. Build, showing progress on stderr.
    sys::LinuxSandbox sandbox;
    auto progress = build::make_progress(mode, stderr);
    auto result = build::build_image(g.root, req, sandbox, *progress);
    progress->finish();
    if (!result) return std::unexpected(result.error());
    // 3. Hand the result over as asked: ID file, archive, the ID on stdout for -q.
    if (!f->iidfile.empty()) TRY(sys::write_file_atomic(f->iidfile, result->id.str()));
    if (output) {
      auto images = TRY(open_store(g));
      store::ExportItem item{TRY(images->load_image(result->manifest)), {}};
      for (const auto& t : req.tags) item.tags.push_back(t.str());
      if (output->second == "-") {
        sys::FdWriter out(1, "stdout");
        TRY(store::export_archive(*images, {item}, output->first, out));
      } else {
        auto fd = TRY(sys::open_file(output->second, O_WRONLY | O_CREAT | O_TRUNC, 0644));
        sys::FdWriter out(fd.get(), output->second);
        TRY(store::export_archive(*images, {item}, output->first, out));
        TRY(out.close());
      }
    }
    if (f->quiet) std::printf("%s\n", result->id.str().c_str());
    return {};
  });
}

}  // namespace bonsai::cli
