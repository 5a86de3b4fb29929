// The command line: one file per subcommand, each registering itself on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "util/error.h"

namespace bonsai::cli {

struct Globals {
  std::string root;  // --root / $BONSAI_ROOT / default store location
};

// A parsed subcommand's action. Prints its own output; returns an error to be reported as
// "bonsai: error: <message>" with an exit code chosen by kind.
using RunFn = std::function<util::Status()>;

class Commands {
 public:
  void add(CLI::App* sub, RunFn run) { entries_.push_back({sub, std::move(run)}); }
  // Runs the subcommand that was parsed, if any. Returns false when none was selected.
  bool run_selected(util::Status& status) const;

 private:
  struct Entry {
    CLI::App* sub;
    RunFn run;
  };
  std::vector<Entry> entries_;
};

// Registration functions, one per file in this folder.
void register_load(CLI::App& app, const Globals& g, Commands& cmds);
void register_save(CLI::App& app, const Globals& g, Commands& cmds);
void register_images(CLI::App& app, const Globals& g, Commands& cmds);
void register_inspect(CLI::App& app, const Globals& g, Commands& cmds);
void register_history(CLI::App& app, const Globals& g, Commands& cmds);
void register_tag(CLI::App& app, const Globals& g, Commands& cmds);
void register_rmi(CLI::App& app, const Globals& g, Commands& cmds);
void register_prune(CLI::App& app, const Globals& g, Commands& cmds);
void register_fsck(CLI::App& app, const Globals& g, Commands& cmds);
void register_debug(CLI::App& app, const Globals& g, Commands& cmds);
void register_build(CLI::App& app, const Globals& g, Commands& cmds);
void register_base(CLI::App& app, const Globals& g, Commands& cmds);

// The testable core of main(): parses argv, runs one subcommand, returns the exit code.
int run_main(int argc, char** argv);

// Exit codes: 1 for ordinary failures, 2 for usage errors, as Docker's CLI does.
int exit_code_for(const util::Error& e);

}  // namespace bonsai::cli
