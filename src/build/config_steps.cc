// The instructions that change only the image config, as BuildKit's Dockerfile frontend applies
// them, with the history text BuildKit records for each.
#include <time.h>

#include <chrono>
#include <cstdio>

#include "build/stage.h"
#include "util/sha256.h"

namespace bonsai::build {

namespace {

using dockerfile::Instruction;
using oci::Json;

constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Go's %q of a []string: ["a" "b"].
std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ' ';
    out += Json(items[i]).dump();
  }
  return out + "]";
}

// The argv a CMD or ENTRYPOINT stores: exec form as written, shell form through the SHELL.
std::vector<std::string> command_argv(const dockerfile::ShellCommand& cmd,
                                      const oci::ImageConfig& config) {
  if (!cmd.prepend_shell) return cmd.args;
  std::vector<std::string> argv = {"/bin/sh", "-c"};
  if (config.config.contains("Shell") && config.config["Shell"].is_array() &&
      !config.config["Shell"].empty())
    argv = config.config["Shell"].get<std::vector<std::string>>();
  argv.push_back(cmd.args.empty() ? "" : cmd.args[0]);
  return argv;
}

Json& object_field(Json& config, const char* key) {
  if (!config.contains(key) || !config[key].is_object()) config[key] = Json::object();
  return config[key];
}

}  // namespace

ImageState scratch_state() {
  ImageState s;
  s.config.architecture = "amd64";
  s.config.os = "linux";
  s.config.config = Json::object();
  s.config.config["Env"] = Json::array({"PATH=" + std::string(kDefaultPath)});
  return s;
}

dockerfile::Env config_env(const oci::ImageConfig& config) {
  dockerfile::Env env;
  if (!config.config.contains("Env") || !config.config["Env"].is_array()) return env;
  for (const Json& e : config.config["Env"]) {
    if (!e.is_string()) continue;
    std::string kv = e.get<std::string>();
    size_t eq = kv.find('=');
    if (eq == std::string::npos)
      env.set(kv, "");
    else
      env.set(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

void set_config_env(oci::ImageConfig& config, const dockerfile::Env& env) {
  config.config["Env"] = env.to_list();
}

std::optional<std::string> apply_config_step(const Instruction& ins, ImageState& state) {
  oci::ImageConfig& c = state.config;
  Json& cfg = c.config;
  return std::visit(
      [&](const auto& d) -> std::optional<std::string> {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, dockerfile::EnvInstr>) {
          dockerfile::Env env = config_env(c);
          std::string text = "ENV";
          for (const auto& kv : d.vars) {
            env.set(kv.key, kv.value);
            text += " " + kv.key + "=" + kv.value;
          }
          set_config_env(c, env);
          return text;
        } else if constexpr (std::is_same_v<T, dockerfile::LabelInstr>) {
          Json& labels = object_field(cfg, "Labels");
          std::string text = "LABEL";
          for (const auto& kv : d.labels) {
            labels[kv.key] = kv.value;
            text += " " + kv.key + "=" + kv.value;
          }
          return text;
        } else if constexpr (std::is_same_v<T, dockerfile::ExposeInstr>) {
          Json& ports = object_field(cfg, "ExposedPorts");
          for (const std::string& p : d.ports) {
            auto spec = dockerfile::parse_port_spec(p);
            if (!spec) continue;  // the planner has already rejected malformed ports
            for (uint32_t port = spec->first; port <= spec->last; ++port)
              ports[std::to_string(port) + "/" + spec->proto] = Json::object();
          }
          std::string text = "EXPOSE map[";
          bool first = true;
          for (auto it = ports.begin(); it != ports.end(); ++it) {
            text += (first ? "" : " ") + it.key() + ":{}";
            first = false;
          }
          return text + "]";
        } else if constexpr (std::is_same_v<T, dockerfile::VolumeInstr>) {
          Json& vols = object_field(cfg, "Volumes");
          std::string text = "VOLUME [";
          for (size_t i = 0; i < d.paths.size(); ++i) {
            vols[d.paths[i]] = Json::object();
            text += (i ? " " : "") + d.paths[i];
          }
          return text + "]";
        } else if constexpr (std::is_same_v<T, dockerfile::UserInstr>) {
          cfg["User"] = d.user;
          return "USER " + d.user;
        } else if constexpr (std::is_same_v<T, dockerfile::CmdInstr>) {
          auto argv = command_argv(d.cmd, c);
          cfg["Cmd"] = argv;
          state.cmd_set = true;
          return "CMD " + quoted_list(argv);
        } else if constexpr (std::is_same_v<T, dockerfile::EntrypointInstr>) {
          auto argv = command_argv(d.cmd, c);
          cfg["Entrypoint"] = argv;
          // An inherited CMD was meant for the old entrypoint (BuildKit drops it).
          if (!state.cmd_set) cfg.erase("Cmd");
          return "ENTRYPOINT " + quoted_list(argv);
        } else if constexpr (std::is_same_v<T, dockerfile::ShellInstr>) {
          cfg["Shell"] = d.shell;
          std::string text = "SHELL [";
          for (size_t i = 0; i < d.shell.size(); ++i) text += (i ? " " : "") + d.shell[i];
          return text + "]";
        } else if constexpr (std::is_same_v<T, dockerfile::HealthcheckInstr>) {
          Json hc = Json::object();
          if (d.none) {
            hc["Test"] = Json::array({"NONE"});
          } else {
            hc["Test"] = d.test;
            if (d.interval.count()) hc["Interval"] = d.interval.count();
            if (d.timeout.count()) hc["Timeout"] = d.timeout.count();
            if (d.start_period.count()) hc["StartPeriod"] = d.start_period.count();
            if (d.start_interval.count()) hc["StartInterval"] = d.start_interval.count();
            if (d.retries) hc["Retries"] = d.retries;
          }
          cfg["Healthcheck"] = hc;
          return "HEALTHCHECK " + quoted_list(d.none ? std::vector<std::string>{"NONE"} : d.test);
        } else if constexpr (std::is_same_v<T, dockerfile::StopSignalInstr>) {
          cfg["StopSignal"] = d.signal;
          return "STOPSIGNAL " + d.signal;
        } else if constexpr (std::is_same_v<T, dockerfile::OnbuildInstr>) {
          if (!cfg.contains("OnBuild") || !cfg["OnBuild"].is_array())
            cfg["OnBuild"] = Json::array();
          cfg["OnBuild"].push_back(d.expression);
          return "ONBUILD " + d.expression;
        } else if constexpr (std::is_same_v<T, dockerfile::MaintainerInstr>) {
          c.author = d.name;
          return "MAINTAINER " + d.name;
        } else if constexpr (std::is_same_v<T, dockerfile::ArgInstr>) {
          return std::string();
        } else {
          return std::nullopt;
        }
      },
      ins.data);
}

std::string cache_key(std::initializer_list<std::string_view> parts) {
  util::Sha256 h;
  for (std::string_view p : parts) {
    std::string len = std::to_string(p.size()) + ":";
    h.update(len);
    h.update(p);
  }
  return h.finish_hex();
}

std::string format_time(int64_t sec, long nsec) {
  time_t t = static_cast<time_t>(sec);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (nsec) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld", nsec);
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::string now_rfc3339(const BuildRequest& request) {
  if (request.source_date_epoch) return format_time(*request.source_date_epoch, 0);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return format_time(ts.tv_sec, ts.tv_nsec);
}

}  // namespace bonsai::build
