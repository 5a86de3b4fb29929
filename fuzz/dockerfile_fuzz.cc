// Fuzzes the whole Dockerfile frontend: syntax, instruction typing, planning with expansion,
// and the dump. Any input must end in a result or an error, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dockerfile/instructions.h"
#include "dockerfile/parser.h"
#include "dockerfile/shell_lex.h"
#include "dockerfile/stages.h"

using namespace bonsai::dockerfile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  Diagnostics diags;
  Dockerfile df = parse_syntax(text, diags);
  (void)df.dump();
  for (const auto& d : diags.errors()) (void)d.format();

  auto prog = load_dockerfile(text);
  if (prog) {
    BuildOptions opt;
    opt.build_args.set("HTTP_PROXY", "http://proxy");
    auto plan = plan_build(*prog, opt);
    (void)plan;
  }

  // Expansion directly, on the first line, as a word in every mode.
  auto nl = text.find('\n');
  std::string_view word = text.substr(0, nl);
  Env env{{"PWD", "/home"}, {"EMPTY", ""}, {"V", "a/b.c"}};
  for (int mode = 0; mode < 4; ++mode) {
    ShellLexOptions o;
    o.raw_quotes = mode & 1;
    o.raw_escapes = mode & 2;
    o.skip_unset_env = mode == 3;
    (void)ShellLex(o).process_words(word, env);
  }
  return 0;
}
