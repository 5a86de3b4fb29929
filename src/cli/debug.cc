// `bonsai debug parse FILE`: prints the Dockerfile syntax tree in the reference parser's dump
// form (one s-expression per instruction), or every error in the file. With --check, the
// instructions are also type-checked (unknown instructions, flags and arguments).
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/cli.h"
#include "dockerfile/instructions.h"
#include "dockerfile/parser.h"

namespace bonsai::cli {

namespace {

util::Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::sys_fail("open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return util::sys_fail("read " + path);
  return ss.str();
}

util::Status run_parse(const std::string& path, bool check) {
  auto text = TRY(read_text(path));
  if (check) {
    auto prog = TRY(dockerfile::load_dockerfile(text, path));
    std::fputs(prog.syntax.dump().c_str(), stdout);
    return {};
  }
  auto df = TRY(dockerfile::parse_dockerfile(text, path));
  std::fputs(df.dump().c_str(), stdout);
  return {};
}

}  // namespace

void register_debug(CLI::App& app, const Globals& /*g*/, Commands& cmds) {
  auto* debug = app.add_subcommand("debug", "Inspect how bonsai reads its inputs");
  debug->require_subcommand(1);
  auto* parse = debug->add_subcommand("parse", "Print a Dockerfile's syntax tree");
  struct Opts {
    std::string file;
    bool check = false;
  };
  auto opts = std::make_shared<Opts>();
  parse->add_option("FILE", opts->file, "Dockerfile to parse")->required();
  parse->add_flag("--check", opts->check, "Also check every instruction's flags and arguments");
  cmds.add(parse, [opts] { return run_parse(opts->file, opts->check); });
}

}  // namespace bonsai::cli
