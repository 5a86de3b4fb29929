// The planner walks the program once: global ARGs, then each stage with its own scope (declared
// ARGs and ENV), expanding the words each instruction expands, then resolves stage references,
// checks for cycles and prunes to the target. Errors are collected with their locations.
#include "dockerfile/stages.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "dockerfile/shell_lex.h"
#include "dockerfile/text.h"

namespace bonsai::dockerfile {

namespace {

constexpr const char* kProxyArgs[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                      "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                      "ALL_PROXY",  "all_proxy"};

void add_platform_args(Env& env, const std::string& prefix, const std::string& platform) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    auto slash = platform.find('/', start);
    parts.push_back(platform.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  env.set(prefix + "PLATFORM", platform);
  env.set(prefix + "OS", parts.size() > 0 ? parts[0] : "");
  env.set(prefix + "ARCH", parts.size() > 1 ? parts[1] : "");
  env.set(prefix + "VARIANT", parts.size() > 2 ? parts[2] : "");
}

// Looks names up in the stage's ENV first, then in its ARGs.
Env merged(const Env& env, const Env& args) {
  Env out = args;
  for (const auto& [k, v] : env.entries()) out.set(k, v);
  return out;
}

class Planner {
 public:
  Planner(const Program& prog, const BuildOptions& opt)
      : prog_(prog),
        opt_(opt),
        lex_(static_cast<char32_t>(prog.syntax.escape)),
        diags_(prog.syntax.filename) {
    add_platform_args(predefined_, "TARGET", opt.target_platform);
    add_platform_args(predefined_, "BUILD", opt.build_platform);
  }

  util::Result<BuildPlan> run();

 private:
  void global_arg(const ArgInstr& arg, const Instruction& inst);
  void begin_stage(const FromInstr& from, const Instruction& inst);
  void stage_instruction(Instruction inst);
  void expand(std::string& word, const Instruction& inst);
  std::optional<std::string> arg_value(const ArgDef& def, const Instruction& inst, bool global);
  std::optional<int> stage_ref(const std::string& ref, const Instruction& inst);
  void resolve_deps();
  bool check_cycles();
  void error(const Instruction& inst, std::string msg, std::string_view text = {}) {
    diags_.error(inst.loc.line, inst.loc.column, std::move(msg),
                 text.empty() ? std::string_view(inst.original) : text);
  }

  struct StageState {
    Stage stage;
    Env env;   // ENV so far (and the base image's or stage's)
    Env args;  // ARGs declared so far with a value
    std::vector<std::pair<std::string, size_t>> from_refs;  // (reference, instruction index)
  };

  const Program& prog_;
  const BuildOptions& opt_;
  ShellLex lex_;
  Diagnostics diags_;
  Env predefined_;
  Env globals_;
  std::set<std::string> used_build_args_;
  std::vector<StageState> states_;
};

std::optional<std::string> Planner::arg_value(const ArgDef& def, const Instruction& inst,
                                              bool global) {
  if (const auto* v = opt_.build_args.get(def.name)) {
    used_build_args_.insert(def.name);
    return *v;
  }
  if (def.value) {
    Env scope =
        global ? merged(globals_, predefined_) : merged(states_.back().env, states_.back().args);
    auto r = lex_.process_word(*def.value, scope);
    if (!r) {
      error(inst, r.error().message(), *def.value);
      return std::nullopt;
    }
    return *r;
  }
  if (global) {
    if (const auto* v = predefined_.get(def.name)) return *v;
    return std::nullopt;
  }
  if (const auto* v = globals_.get(def.name)) return *v;
  if (const auto* v = predefined_.get(def.name)) return *v;
  return std::nullopt;
}

void Planner::global_arg(const ArgInstr& arg, const Instruction& inst) {
  for (const auto& def : arg.args) {
    if (auto v = arg_value(def, inst, true)) globals_.set(def.name, *v);
  }
}

void Planner::begin_stage(const FromInstr& from, const Instruction& inst) {
  StageState st;
  Stage& s = st.stage;
  s.index = static_cast<int>(states_.size());
  s.name = from.stage_name;
  s.loc = inst.loc;
  Env scope = merged(globals_, predefined_);
  auto base = lex_.process_word(from.base, scope);
  if (!base) error(inst, base.error().message(), from.base);
  s.base = base ? *base : from.base;
  if (base && s.base.empty()) error(inst, "base name (" + from.base + ") should not be blank");
  auto platform = lex_.process_word(from.platform, scope);
  if (!platform) error(inst, platform.error().message(), from.platform);
  s.platform = platform ? *platform : from.platform;
  if (!s.name.empty()) {
    for (const auto& other : states_) {
      if (other.stage.name == s.name)
        error(inst, "duplicate stage name " + go_quote(s.name), s.name);
    }
  }
  // FROM sees only earlier stages; the base's environment carries over.
  for (const auto& other : states_) {
    if (!other.stage.name.empty() && other.stage.name == ascii_lower(s.base)) {
      s.base_stage = other.stage.index;
      st.env = other.env;
    }
  }
  if (s.base_stage) {
    s.deps.push_back(*s.base_stage);
  } else if (opt_.image_env) {
    st.env = opt_.image_env(s.base, s.platform.empty() ? opt_.target_platform : s.platform);
  }
  states_.push_back(std::move(st));
}

void Planner::expand(std::string& word, const Instruction& inst) {
  auto& st = states_.back();
  auto r = lex_.process_word(word, merged(st.env, st.args));
  if (!r) {
    error(inst, r.error().message(), word);
    return;
  }
  word = std::move(*r);
}

void Planner::stage_instruction(Instruction inst) {
  auto& st = states_.back();
  const Env before = merged(st.env, st.args);
  auto exp = [&](std::string& w) { expand(w, inst); };
  std::visit(
      [&](auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, EnvInstr> || std::is_same_v<T, LabelInstr>) {
          auto& kvs = [&]() -> std::vector<KeyValue>& {
            if constexpr (std::is_same_v<T, EnvInstr>)
              return d.vars;
            else
              return d.labels;
          }();
          for (auto& kv : kvs) {
            for (auto* w : {&kv.key, &kv.value}) {
              auto r = lex_.process_word(*w, before);
              if (!r)
                error(inst, r.error().message(), *w);
              else
                *w = std::move(*r);
            }
            if constexpr (std::is_same_v<T, EnvInstr>) st.env.set(kv.key, kv.value);
          }
        } else if constexpr (std::is_same_v<T, ArgInstr>) {
          for (auto& def : d.args) {
            exp(def.name);
            auto v = arg_value(def, inst, false);
            def.value = v;
            if (v) st.args.set(def.name, *v);
          }
        } else if constexpr (std::is_same_v<T, CopyInstr>) {
          for (auto& s : d.sources) exp(s);
          exp(d.dest);
          for (auto* w : {&d.chown, &d.chmod, &d.checksum, &d.from}) exp(*w);
          for (auto& e : d.excludes) exp(e);
          for (auto& src : d.inline_sources) {
            if (!src.expand) continue;
            ShellLexOptions o;
            o.skip_process_quotes = true;
            auto r = ShellLex(o).process_word(src.data, before);
            if (!r)
              error(inst, r.error().message(), src.path);
            else
              src.data = std::move(*r);
          }
          if (!d.from.empty()) st.from_refs.emplace_back(d.from, st.stage.instructions.size());
        } else if constexpr (std::is_same_v<T, ExposeInstr>) {
          std::vector<std::string> ports;
          for (const auto& p : d.ports) {
            auto r = lex_.process_words(p, before);
            if (!r) {
              error(inst, r.error().message(), p);
              continue;
            }
            for (auto& w : *r) {
              if (auto spec = parse_port_spec(w); !spec) error(inst, spec.error().message(), p);
              ports.push_back(std::move(w));
            }
          }
          d.ports = std::move(ports);
        } else if constexpr (std::is_same_v<T, VolumeInstr>) {
          for (auto& p : d.paths) {
            exp(p);
            if (trim_space(p).empty()) error(inst, "VOLUME specified can not be an empty string");
          }
        } else if constexpr (std::is_same_v<T, UserInstr>) {
          exp(d.user);
        } else if constexpr (std::is_same_v<T, WorkdirInstr>) {
          exp(d.path);
        } else if constexpr (std::is_same_v<T, StopSignalInstr>) {
          exp(d.signal);
        } else if constexpr (std::is_same_v<T, RunInstr>) {
          for (auto spec : d.mount_specs) {
            exp(spec);
            auto m = parse_mount(spec);
            if (!m) {
              error(inst, "invalid mount: " + m.error().message(), spec);
              continue;
            }
            if (!m->from.empty()) st.from_refs.emplace_back(m->from, st.stage.instructions.size());
            d.mounts.push_back(std::move(*m));
          }
        }
      },
      inst.data);
  // Record what the step sees: declared args with values, and proxies passed as build args.
  for (const auto& [k, v] : st.args.entries()) inst.args.push_back({k, v});
  for (const char* p : kProxyArgs) {
    if (const auto* v = opt_.build_args.get(p); v && !st.args.contains(p)) {
      inst.args.push_back({p, *v});
      used_build_args_.insert(p);
    }
  }
  st.stage.instructions.push_back(std::move(inst));
}

std::optional<int> Planner::stage_ref(const std::string& ref, const Instruction& inst) {
  int index = 0;
  auto [p, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), index);
  if (ec == std::errc() && p == ref.data() + ref.size()) {
    if (index < 0 || index >= static_cast<int>(states_.size())) {
      error(inst, "invalid stage index " + ref, ref);
      return std::nullopt;
    }
    return index;
  }
  std::string lower = ascii_lower(ref);
  for (const auto& st : states_) {
    if (!st.stage.name.empty() && st.stage.name == lower) return st.stage.index;
  }
  return std::nullopt;  // an image
}

void Planner::resolve_deps() {
  for (auto& st : states_) {
    for (const auto& [ref, at] : st.from_refs) {
      const Instruction& inst = st.stage.instructions[at];
      if (auto dep = stage_ref(ref, inst)) {
        auto& deps = st.stage.deps;
        if (std::find(deps.begin(), deps.end(), *dep) == deps.end()) deps.push_back(*dep);
      }
    }
  }
}

bool Planner::check_cycles() {
  // 0 = unvisited, 1 = on the stack, 2 = done.
  std::vector<int> mark(states_.size(), 0);
  std::function<bool(int)> visit = [&](int i) {
    if (mark[i] == 1) {
      const Stage& s = states_[i].stage;
      diags_.error(s.loc.line, s.loc.column,
                   "circular dependency detected on stage: " + s.display_name());
      return false;
    }
    if (mark[i] == 2) return true;
    mark[i] = 1;
    for (int d : states_[i].stage.deps) {
      if (!visit(d)) return false;
    }
    mark[i] = 2;
    return true;
  };
  for (size_t i = 0; i < states_.size(); ++i) {
    if (!visit(static_cast<int>(i))) return false;
  }
  return true;
}

util::Result<BuildPlan> Planner::run() {
  // 1. Global ARGs, stages and their instructions, in order.
  for (const auto& inst : prog_.instructions) {
    if (const auto* from = std::get_if<FromInstr>(&inst.data)) {
      begin_stage(*from, inst);
    } else if (states_.empty()) {
      if (const auto* arg = std::get_if<ArgInstr>(&inst.data)) global_arg(*arg, inst);
    } else {
      stage_instruction(inst);
    }
  }
  if (states_.empty() && !diags_.has_errors()) {
    diags_.error(1, 1, "the Dockerfile has no FROM instruction");
  }
  if (diags_.has_errors()) return std::unexpected(diags_.to_error());

  // 2. Stage references, cycles and the target.
  resolve_deps();
  if (diags_.has_errors() || !check_cycles()) return std::unexpected(diags_.to_error());
  BuildPlan plan;
  plan.target = static_cast<int>(states_.size()) - 1;
  if (!opt_.target.empty()) {
    auto it = std::find_if(states_.begin(), states_.end(), [&](const StageState& st) {
      return st.stage.name == ascii_lower(opt_.target);
    });
    if (it == states_.end()) {
      return util::fail(util::ErrorKind::kInvalidArgument,
                        "target stage " + go_quote(opt_.target) + " could not be found");
    }
    plan.target = it->stage.index;
  }

  // 3. Keep what the target needs.
  std::vector<char> needed(states_.size(), 0);
  std::vector<int> todo{plan.target};
  while (!todo.empty()) {
    int i = todo.back();
    todo.pop_back();
    if (needed[i]) continue;
    needed[i] = 1;
    for (int d : states_[i].stage.deps) todo.push_back(d);
  }
  for (auto& st : states_) {
    if (needed[st.stage.index]) plan.stages.push_back(std::move(st.stage));
  }
  plan.global_args = globals_;
  for (const auto& [k, v] : opt_.build_args.entries()) {
    if (!used_build_args_.contains(k) && !predefined_.contains(k)) {
      plan.unused_build_args.push_back(k);
    }
  }
  if (!plan.unused_build_args.empty()) {
    std::string list;
    for (const auto& k : plan.unused_build_args) list += (list.empty() ? "" : " ") + k;
    diags_.warning(1, 1, "one or more build-args [" + list + "] were not consumed");
  }
  plan.warnings = diags_.warnings();
  return plan;
}

}  // namespace

bool is_proxy_arg(std::string_view name) {
  return std::any_of(std::begin(kProxyArgs), std::end(kProxyArgs),
                     [&](const char* p) { return name == p; });
}

const Stage* BuildPlan::stage(int index) const {
  for (const auto& s : stages) {
    if (s.index == index) return &s;
  }
  return nullptr;
}

util::Result<BuildPlan> plan_build(const Program& program, const BuildOptions& options) {
  return Planner(program, options).run();
}

}  // namespace bonsai::dockerfile
