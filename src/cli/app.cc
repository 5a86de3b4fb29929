#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/cli.h"

namespace bonsai::cli {

bool Commands::run_selected(util::Status& status) const {
  for (const auto& e : entries_) {
    if (e.sub->parsed()) {
      status = e.run();
      return true;
    }
  }
  return false;
}

int exit_code_for(const util::Error& e) {
  return e.kind() == util::ErrorKind::kInvalidArgument ? 2 : 1;
}

namespace {
std::string default_root() {
  if (const char* env = std::getenv("BONSAI_ROOT"); env && *env) return env;
  if (::geteuid() == 0) return "/var/lib/bonsai";
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::string(xdg) + "/bonsai";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/share/bonsai";
}
}  // namespace

int run_main(int argc, char** argv) {
  // 1. Global flags and the subcommands, one registration per file.
  CLI::App app{"bonsai: daemonless builder of small, safe container images", "bonsai"};
  app.require_subcommand(1);
  Globals g;
  g.root = default_root();
  app.add_option("--root", g.root, "Store location (default $BONSAI_ROOT or /var/lib/bonsai)");
  Commands cmds;
  register_load(app, g, cmds);
  register_save(app, g, cmds);
  register_images(app, g, cmds);
  register_inspect(app, g, cmds);
  register_history(app, g, cmds);
  register_tag(app, g, cmds);
  register_rmi(app, g, cmds);
  register_prune(app, g, cmds);
  register_fsck(app, g, cmds);
  register_debug(app, g, cmds);
  register_build(app, g, cmds);
  register_base(app, g, cmds);
  // (further subcommands register here)

  // 2. Parse; usage errors exit 2 with CLI11's message.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "bonsai: error: %s\n", e.what());
    std::fprintf(stderr, "See 'bonsai --help'.\n");
    return 2;
  }

  // 3. Run the chosen subcommand and report its error, if any.
  util::Status status;
  cmds.run_selected(status);
  if (!status) {
    std::fflush(stdout);
    std::fprintf(stderr, "bonsai: error: %s\n", status.error().message().c_str());
    return exit_code_for(status.error());
  }
  return 0;
}

}  // namespace bonsai::cli
