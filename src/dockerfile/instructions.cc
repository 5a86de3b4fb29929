// From syntax nodes to typed instructions, one parse function per instruction. Each function
// declares the flags its instruction accepts, checks argument counts and shapes, and records
// problems with the line, column and offending text.
#include "dockerfile/instructions.h"

#include <functional>
#include <map>

#include "dockerfile/flags.h"
#include "dockerfile/text.h"

namespace bonsai::dockerfile {

namespace {

using detail::BuilderFlags;

// Collects the errors for one node, with a column that points at the offending text when it
// can be found on the instruction's first line.
class NodeErrors {
 public:
  NodeErrors(const Node& node, Diagnostics& diags) : node_(node), diags_(diags) {}

  void error(const std::string& message, std::string_view text = {}) {
    int column = node_.column;
    std::string_view shown = text.empty() ? std::string_view(node_.original) : text;
    if (!text.empty()) {
      auto pos = node_.original.find(text);
      if (pos != std::string::npos) column += static_cast<int>(pos);
    }
    diags_.error(node_.start_line, column, message, shown);
    failed_ = true;
  }
  bool failed() const { return failed_; }

 private:
  const Node& node_;
  Diagnostics& diags_;
  bool failed_ = false;
};

bool parse_flags(BuilderFlags& flags, const Node& node, NodeErrors& errs) {
  std::string bad;
  if (auto err = flags.parse(node.flags, bad)) {
    errs.error(*err, bad);
    return false;
  }
  return true;
}

std::string upper(const Node& node) { return ascii_upper(node.value); }

ShellCommand shell_command(const Node& node) {
  ShellCommand cmd;
  cmd.args = node.args;
  cmd.prepend_shell = !node.json;
  cmd.files = node.heredocs;
  return cmd;
}

bool exactly_one(const Node& node, NodeErrors& errs) {
  if (node.args.size() == 1) return true;
  errs.error(upper(node) + " requires exactly one argument");
  return false;
}

bool at_least_one(const Node& node, NodeErrors& errs) {
  if (!node.args.empty()) return true;
  errs.error(upper(node) + " requires at least one argument");
  return false;
}

bool no_flags(const Node& node, NodeErrors& errs) {
  BuilderFlags flags;
  return parse_flags(flags, node, errs);
}

std::optional<InstructionData> parse_from(const Node& node, NodeErrors& errs) {
  BuilderFlags flags;
  flags.add_string("platform");
  bool ok = parse_flags(flags, node, errs);
  FromInstr from;
  const auto& a = node.args;
  if (a.size() == 3 && iequals(a[1], "as")) {
    from.stage_name = ascii_lower(a[2]);
    bool valid = !from.stage_name.empty() && from.stage_name[0] >= 'a' && from.stage_name[0] <= 'z';
    for (char c : from.stage_name) {
      valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                        c == '.');
    }
    if (!valid) {
      errs.error("invalid name for build stage: " + go_quote(a[2]) +
                     ", name can't start with a number or contain symbols",
                 a[2]);
      return std::nullopt;
    }
  } else if (a.size() != 1) {
    errs.error("FROM requires either one or three arguments");
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  from.base = a[0];
  from.platform = flags.get_string("platform");
  return from;
}

std::optional<InstructionData> parse_run(const Node& node, NodeErrors& errs) {
  BuilderFlags flags;
  flags.add_strings("mount");
  flags.add_string("network", "default");
  flags.add_string("security", "sandbox");
  if (!parse_flags(flags, node, errs)) return std::nullopt;
  RunInstr run;
  const std::string& net = flags.get_string("network");
  if (net == "none")
    run.network = NetworkMode::kNone;
  else if (net == "host")
    run.network = NetworkMode::kHost;
  else if (net != "default")
    errs.error("network mode " + go_quote(net) + " not supported", net);
  const std::string& sec = flags.get_string("security");
  if (sec == "insecure")
    run.security = SecurityMode::kInsecure;
  else if (sec != "sandbox")
    errs.error("security mode " + go_quote(sec) + " not supported", sec);
  run.mount_specs = flags.get_strings("mount");
  for (const auto& spec : run.mount_specs) {
    if (spec.find('$') != std::string::npos) continue;  // checked once expanded
    auto m = parse_mount(spec);
    if (!m) errs.error("invalid mount: " + m.error().message(), spec);
  }
  if (!at_least_one(node, errs) || errs.failed()) return std::nullopt;
  run.cmd = shell_command(node);
  return run;
}

std::optional<InstructionData> parse_cmd_like(const Node& node, NodeErrors& errs, bool entry) {
  if (!no_flags(node, errs)) return std::nullopt;
  if (entry) return EntrypointInstr{shell_command(node)};
  return CmdInstr{shell_command(node)};
}

std::optional<InstructionData> parse_shell(const Node& node, NodeErrors& errs) {
  if (!no_flags(node, errs)) return std::nullopt;
  if (!node.json) {
    errs.error("SHELL requires the arguments to be in JSON form");
    return std::nullopt;
  }
  if (!at_least_one(node, errs)) return std::nullopt;
  return ShellInstr{node.args};
}

std::optional<std::vector<KeyValue>> key_values(const Node& node, NodeErrors& errs) {
  if (!no_flags(node, errs) || !at_least_one(node, errs)) return std::nullopt;
  std::vector<KeyValue> out;
  for (size_t i = 0; i + 1 < node.args.size(); i += 3) {
    if (node.args[i].empty()) {
      errs.error(upper(node) + " names can not be blank");
      return std::nullopt;
    }
    out.push_back({node.args[i], node.args[i + 1]});
  }
  return out;
}

std::optional<InstructionData> parse_arg(const Node& node, NodeErrors& errs) {
  if (!no_flags(node, errs) || !at_least_one(node, errs)) return std::nullopt;
  ArgInstr arg;
  for (const auto& word : node.args) {
    auto eq = word.find('=');
    ArgDef def;
    def.name = word.substr(0, eq);
    if (eq != std::string::npos) def.value = word.substr(eq + 1);
    if (def.name.empty()) {
      errs.error("ARG names can not be blank", word);
      return std::nullopt;
    }
    arg.args.push_back(std::move(def));
  }
  return arg;
}

std::optional<InstructionData> parse_expose(const Node& node, NodeErrors& errs) {
  if (!no_flags(node, errs) || !at_least_one(node, errs)) return std::nullopt;
  for (const auto& p : node.args) {
    if (p.find('$') != std::string::npos) continue;  // checked once expanded
    if (auto spec = parse_port_spec(p); !spec) errs.error(spec.error().message(), p);
  }
  if (errs.failed()) return std::nullopt;
  return ExposeInstr{node.args};
}

std::optional<InstructionData> parse_copy(const Node& node, NodeErrors& errs, bool add) {
  BuilderFlags flags;
  flags.add_string("chown");
  flags.add_string("chmod");
  flags.add_bool("link");
  flags.add_strings("exclude");
  if (add) {
    flags.add_bool("keep-git-dir");
    flags.add_string("checksum");
    flags.add_bool("unpack");
  } else {
    flags.add_string("from");
    flags.add_bool("parents");
  }
  if (!parse_flags(flags, node, errs)) return std::nullopt;
  const std::string name = add ? "ADD" : "COPY";
  if (node.args.size() < 2) {
    errs.error(node.args.empty() ? name + " requires at least two arguments"
                                 : name +
                                       " requires at least two arguments, but only one was "
                                       "provided. Destination could not be determined");
    return std::nullopt;
  }
  CopyInstr c;
  c.is_add = add;
  c.dest = node.args.back();
  auto dest_doc = parse_heredoc_word(c.dest);
  if (dest_doc && *dest_doc) {
    errs.error(name + " cannot accept a heredoc as a destination", c.dest);
    return std::nullopt;
  }
  for (size_t i = 0; i + 1 < node.args.size(); ++i) {
    const auto& src = node.args[i];
    auto doc = node.heredocs.empty() ? util::Result<std::optional<Heredoc>>(std::nullopt)
                                     : parse_heredoc_word(src);
    if (doc && *doc) {
      std::string content;
      for (const auto& h : node.heredocs) {
        if (h.name == (*doc)->name) content = h.content;
      }
      if ((*doc)->chomp) content = chomp_heredoc(content);
      c.inline_sources.push_back({(*doc)->name, std::move(content), (*doc)->expand});
    } else {
      c.sources.push_back(src);
    }
  }
  c.chown = flags.get_string("chown");
  c.chmod = flags.get_string("chmod");
  c.link = flags.get_bool("link");
  c.excludes = flags.get_strings("exclude");
  if (add) {
    c.keep_git_dir = flags.get_bool("keep-git-dir");
    c.checksum = flags.get_string("checksum");
    if (flags.used("unpack")) c.unpack = flags.get_bool("unpack");
  } else {
    c.from = flags.get_string("from");
    c.parents = flags.get_bool("parents");
  }
  return c;
}

std::optional<std::chrono::nanoseconds> interval(const BuilderFlags& flags, const char* name,
                                                 NodeErrors& errs) {
  const std::string& v = flags.get_string(name);
  if (v.empty()) return std::chrono::nanoseconds(0);
  auto d = parse_go_duration(v);
  if (!d) {
    errs.error(d.error().message(), v);
    return std::nullopt;
  }
  if (d->count() != 0 && *d < std::chrono::milliseconds(1)) {
    errs.error(std::string("Interval \"") + name + "\" cannot be less than 1ms", v);
    return std::nullopt;
  }
  return *d;
}

std::optional<InstructionData> parse_healthcheck(const Node& node, NodeErrors& errs) {
  if (!at_least_one(node, errs)) return std::nullopt;
  HealthcheckInstr hc;
  std::string type = ascii_upper(node.args[0]);
  if (type == "NONE") {
    if (node.args.size() != 1 || !node.flags.empty()) {
      errs.error("HEALTHCHECK NONE takes no arguments");
      return std::nullopt;
    }
    hc.none = true;
    return hc;
  }
  if (type != "CMD") {
    errs.error("Unknown type " + go_quote(type) + " in HEALTHCHECK (try CMD)", node.args[0]);
    return std::nullopt;
  }
  BuilderFlags flags;
  for (const char* f : {"interval", "timeout", "start-period", "start-interval", "retries"}) {
    flags.add_string(f);
  }
  if (!parse_flags(flags, node, errs)) return std::nullopt;
  if (node.args.size() < 2) {
    errs.error("Missing command after HEALTHCHECK CMD");
    return std::nullopt;
  }
  std::vector<std::string> rest(node.args.begin() + 1, node.args.end());
  if (node.json) {
    hc.test = {"CMD"};
    hc.test.insert(hc.test.end(), rest.begin(), rest.end());
  } else {
    hc.test = {"CMD-SHELL", rest[0]};
  }
  auto i = interval(flags, "interval", errs);
  auto t = interval(flags, "timeout", errs);
  auto sp = interval(flags, "start-period", errs);
  auto si = interval(flags, "start-interval", errs);
  if (!i || !t || !sp || !si) return std::nullopt;
  hc.interval = *i, hc.timeout = *t, hc.start_period = *sp, hc.start_interval = *si;
  const std::string& retries = flags.get_string("retries");
  if (!retries.empty()) {
    char* end = nullptr;
    long v = std::strtol(retries.c_str(), &end, 10);
    if (end != retries.c_str() + retries.size() || v > INT32_MAX || v < INT32_MIN) {
      errs.error("invalid value for --retries: " + retries, retries);
      return std::nullopt;
    }
    if (v < 0) {
      errs.error("--retries cannot be negative (" + retries + ")", retries);
      return std::nullopt;
    }
    hc.retries = static_cast<int>(v);
  }
  return hc;
}

std::optional<InstructionData> parse_onbuild(const Node& node, NodeErrors& errs) {
  if (!no_flags(node, errs)) return std::nullopt;
  if (!node.sub) {
    errs.error("ONBUILD requires at least one argument");
    return std::nullopt;
  }
  std::string trigger = ascii_upper(trim_space(node.sub->value));
  if (trigger == "ONBUILD") {
    errs.error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    return std::nullopt;
  }
  if (trigger == "MAINTAINER" || trigger == "FROM") {
    errs.error(trigger + " isn't allowed as an ONBUILD trigger", node.sub->value);
    return std::nullopt;
  }
  // The original line minus the leading ONBUILD keyword: (?i)^\s*ONBUILD\s*
  std::string_view expr = trim_left_space(node.original);
  expr.remove_prefix(std::min<size_t>(7, expr.size()));
  return OnbuildInstr{std::string(trim_left_space(expr))};
}

using ParseFn = std::function<std::optional<InstructionData>(const Node&, NodeErrors&)>;

const std::map<std::string, ParseFn>& dispatch() {
  static const std::map<std::string, ParseFn> table = {
      {"from", parse_from},
      {"run", parse_run},
      {"cmd", [](const Node& n, NodeErrors& e) { return parse_cmd_like(n, e, false); }},
      {"entrypoint", [](const Node& n, NodeErrors& e) { return parse_cmd_like(n, e, true); }},
      {"shell", parse_shell},
      {"env",
       [](const Node& n, NodeErrors& e) -> std::optional<InstructionData> {
         auto kv = key_values(n, e);
         if (!kv) return std::nullopt;
         return EnvInstr{std::move(*kv)};
       }},
      {"label",
       [](const Node& n, NodeErrors& e) -> std::optional<InstructionData> {
         auto kv = key_values(n, e);
         if (!kv) return std::nullopt;
         return LabelInstr{std::move(*kv)};
       }},
      {"arg", parse_arg},
      {"expose", parse_expose},
      {"volume",
       [](const Node& n, NodeErrors& e) -> std::optional<InstructionData> {
         if (!no_flags(n, e) || !at_least_one(n, e)) return std::nullopt;
         return VolumeInstr{n.args};
       }},
      {"user",
       [](const Node& n, NodeErrors& e) -> std::optional<InstructionData> {
         if (!no_flags(n, e) || !exactly_one(n, e)) return std::nullopt;
         return UserInstr{n.args[0]};
       }},
      {"workdir",
       [](const Node& n, NodeErrors& e) -> std::optional<InstructionData> {
         if (!no_flags(n, e) || !exactly_one(n, e)) return std::nullopt;
         return WorkdirInstr{n.args[0]};
       }},
      {"copy", [](const Node& n, NodeErrors& e) { return parse_copy(n, e, false); }},
      {"add", [](const Node& n, NodeErrors& e) { return parse_copy(n, e, true); }},
      {"healthcheck", parse_healthcheck},
      {"stopsignal",
       [](const Node& n, NodeErrors& e) -> std::optional<InstructionData> {
         if (!no_flags(n, e) || !exactly_one(n, e)) return std::nullopt;
         return StopSignalInstr{n.args[0]};
       }},
      {"onbuild", parse_onbuild},
      {"maintainer",
       [](const Node& n, NodeErrors& e) -> std::optional<InstructionData> {
         if (!no_flags(n, e) || !exactly_one(n, e)) return std::nullopt;
         return MaintainerInstr{n.args[0]};
       }},
  };
  return table;
}

}  // namespace

std::optional<Instruction> parse_instruction(const Node& node, Diagnostics& diags) {
  NodeErrors errs(node, diags);
  auto it = dispatch().find(node.command());
  if (it == dispatch().end()) {
    errs.error("unknown instruction: " + node.value, node.value);
    return std::nullopt;
  }
  auto data = it->second(node, errs);
  if (!data || errs.failed()) return std::nullopt;
  return Instruction{std::move(*data),
                     {node.start_line, node.end_line, node.column},
                     ascii_upper(node.value),
                     node.original};
}

util::Result<Program> load_dockerfile(std::string_view text, std::string_view filename) {
  Diagnostics diags{std::string(filename)};
  Program prog;
  prog.syntax = parse_syntax(text, diags);
  bool seen_from = false;
  for (const auto& node : prog.syntax.nodes) {
    auto inst = parse_instruction(node, diags);
    if (!inst) continue;
    if (std::holds_alternative<FromInstr>(inst->data)) seen_from = true;
    if (!seen_from && !std::holds_alternative<ArgInstr>(inst->data)) {
      diags.error(node.start_line, node.column,
                  "no build stage in current context: " + inst->keyword + " before the first FROM",
                  node.original);
      continue;
    }
    prog.instructions.push_back(std::move(*inst));
  }
  if (diags.has_errors()) return std::unexpected(diags.to_error());
  return prog;
}

}  // namespace bonsai::dockerfile
