// Value syntaxes inside instructions: Go durations (HEALTHCHECK), --mount specs (RUN) and port
// specs (EXPOSE), each with the reference's rules.
#include <cmath>
#include <limits>

#include "dockerfile/instructions.h"
#include "dockerfile/text.h"

namespace bonsai::dockerfile {

using util::ErrorKind;
using util::fail;
using util::Result;

Result<std::chrono::nanoseconds> parse_go_duration(std::string_view s) {
  const std::string orig(s);
  auto invalid = [&] {
    return fail(ErrorKind::kInvalidArgument, "time: invalid duration " + go_quote(orig));
  };
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0'), digits = true;
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i++] - '0') * scale;
        scale /= 10;
        digits = true;
      }
    }
    if (!digits) return invalid();
    size_t u = i;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    std::string_view unit = s.substr(i, u - i);
    long double mult;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      mult = 1e3L;
    else if (unit == "ms")
      mult = 1e6L;
    else if (unit == "s")
      mult = 1e9L;
    else if (unit == "m")
      mult = 60e9L;
    else if (unit == "h")
      mult = 3600e9L;
    else if (unit.empty())
      return fail(ErrorKind::kInvalidArgument, "time: missing unit in duration " + go_quote(orig));
    else
      return fail(ErrorKind::kInvalidArgument,
                  "time: unknown unit " + go_quote(unit) + " in duration " + go_quote(orig));
    total += v * mult;
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) return invalid();
    s.remove_prefix(u);
  }
  auto ns = static_cast<int64_t>(total);
  return std::chrono::nanoseconds(neg ? -ns : ns);
}

namespace {

// encoding/csv, one record: fields split on commas, optionally double-quoted ("" escapes ").
Result<std::vector<std::string>> read_csv_record(std::string_view s) {
  std::vector<std::string> fields;
  size_t i = 0;
  for (;;) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= s.size())
          return fail(ErrorKind::kInvalidArgument, "extraneous or missing \" in quoted-field");
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(s[i++]);
      }
      if (i < s.size() && s[i] != ',')
        return fail(ErrorKind::kInvalidArgument, "extraneous or missing \" in quoted-field");
    } else {
      while (i < s.size() && s[i] != ',') {
        if (s[i] == '"') return fail(ErrorKind::kInvalidArgument, "bare \" in non-quoted-field");
        field.push_back(s[i++]);
      }
    }
    fields.push_back(std::move(field));
    if (i >= s.size()) break;
    ++i;  // ','
  }
  return fields;
}

std::optional<bool> parse_go_bool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False")
    return false;
  return std::nullopt;
}

std::optional<uint64_t> parse_uint(std::string_view v, int base, uint64_t max) {
  if (v.empty()) return std::nullopt;
  uint64_t out = 0;
  for (char c : v) {
    int d = c - '0';
    if (d < 0 || d >= base) return std::nullopt;
    if (out > (max - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return std::nullopt;
    out = out * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return out;
}

// docker/go-units RAMInBytes: "64m", "1.5GiB", "512".
std::optional<uint64_t> parse_ram_bytes(std::string_view v) {
  size_t i = 0;
  while (i < v.size() && ((v[i] >= '0' && v[i] <= '9') || v[i] == '.')) ++i;
  std::string num(v.substr(0, i));
  if (num.empty() || num[0] == '.' || num.back() == '.') return std::nullopt;
  std::string_view unit = v.substr(i);
  if (!unit.empty() && unit[0] == ' ') unit.remove_prefix(1);
  long double mult = 1;
  if (!unit.empty()) {
    switch (unit[0]) {
      case 'k':
      case 'K':
        mult = 1024.0L;
        unit.remove_prefix(1);
        break;
      case 'm':
      case 'M':
        mult = 1024.0L * 1024;
        unit.remove_prefix(1);
        break;
      case 'g':
      case 'G':
        mult = 1024.0L * 1024 * 1024;
        unit.remove_prefix(1);
        break;
      case 't':
      case 'T':
        mult = 1024.0L * 1024 * 1024 * 1024;
        unit.remove_prefix(1);
        break;
      case 'p':
      case 'P':
        mult = 1024.0L * 1024 * 1024 * 1024 * 1024;
        unit.remove_prefix(1);
        break;
      default:
        break;
    }
    if (!unit.empty() && (unit[0] == 'i' || unit[0] == 'I')) unit.remove_prefix(1);
    if (!unit.empty() && (unit[0] == 'b' || unit[0] == 'B')) unit.remove_prefix(1);
    if (!unit.empty()) return std::nullopt;
  }
  char* end = nullptr;
  long double n = std::strtold(num.c_str(), &end);
  if (end != num.c_str() + num.size()) return std::nullopt;
  long double bytes = n * mult;
  if (bytes > 1.8e19L) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

const char* type_name(MountType t) {
  switch (t) {
    case MountType::kBind:
      return "bind";
    case MountType::kCache:
      return "cache";
    case MountType::kTmpfs:
      return "tmpfs";
    case MountType::kSecret:
      return "secret";
    case MountType::kSsh:
      return "ssh";
  }
  return "?";
}

}  // namespace

Result<Mount> parse_mount(std::string_view spec) {
  auto fields = TRY(read_csv_record(spec));
  Mount m;
  bool ro_auto = true;
  bool sharing_set = false;
  auto bad = [](std::string msg) { return fail(ErrorKind::kInvalidArgument, std::move(msg)); };
  for (const auto& field : fields) {
    auto eq = field.find('=');
    std::string key = ascii_lower(field.substr(0, eq));
    bool secretish = m.type == MountType::kSecret || m.type == MountType::kSsh;
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        m.read_only = true, ro_auto = false;
      } else if (key == "readwrite" || key == "rw") {
        m.read_only = false, ro_auto = false;
      } else if (key == "required" && secretish) {
        m.required = true;
      } else if (key == "required") {
        return bad("unexpected key 'required' for mount type '" + std::string(type_name(m.type)) +
                   "'");
      } else {
        return bad("invalid field '" + field + "' must be a key=value pair");
      }
      continue;
    }
    std::string value = field.substr(eq + 1);
    if (key == "type") {
      std::string t = ascii_lower(value);
      if (t == "bind")
        m.type = MountType::kBind;
      else if (t == "cache")
        m.type = MountType::kCache;
      else if (t == "tmpfs")
        m.type = MountType::kTmpfs;
      else if (t == "secret")
        m.type = MountType::kSecret;
      else if (t == "ssh")
        m.type = MountType::kSsh;
      else
        return bad("unsupported mount type " + go_quote(value));
    } else if (key == "from") {
      m.from = value;
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
    } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
      auto b = parse_go_bool(value);
      if (!b) return bad("invalid value for " + key + ": " + value);
      m.read_only = (key == "readonly" || key == "ro") ? *b : !*b;
      ro_auto = false;
    } else if (key == "required") {
      auto b = parse_go_bool(value);
      if (!secretish)
        return bad("unexpected key 'required' for mount type '" + std::string(type_name(m.type)) +
                   "'");
      if (!b) return bad("invalid value for required: " + value);
      m.required = *b;
    } else if (key == "size") {
      if (m.type != MountType::kTmpfs)
        return bad("unexpected key 'size' for mount type '" + std::string(type_name(m.type)) + "'");
      auto n = parse_ram_bytes(value);
      if (!n) return bad("invalid size value " + go_quote(value));
      m.size_bytes = *n;
    } else if (key == "id") {
      m.cache_id = value;
    } else if (key == "sharing") {
      std::string v = ascii_lower(value);
      if (v == "shared")
        m.sharing = CacheSharing::kShared;
      else if (v == "private")
        m.sharing = CacheSharing::kPrivate;
      else if (v == "locked")
        m.sharing = CacheSharing::kLocked;
      else
        return bad("unsupported sharing value " + go_quote(value));
      sharing_set = true;
    } else if (key == "mode") {
      auto n = parse_uint(value, 8, UINT32_MAX);
      if (!n) return bad("invalid value " + value + " for mode");
      m.mode = static_cast<uint32_t>(*n);
    } else if (key == "uid" || key == "gid") {
      auto n = parse_uint(value, 10, UINT32_MAX);
      if (!n) return bad("invalid value for " + key + ": " + value);
      (key == "uid" ? m.uid : m.gid) = static_cast<uint32_t>(*n);
    } else if (key == "env") {
      if (m.type != MountType::kSecret)
        return bad("unexpected key 'env' for mount type '" + std::string(type_name(m.type)) + "'");
      m.env = value;
    } else {
      return bad("unexpected key '" + key + "' in '" + field + "'");
    }
  }
  bool file_info =
      m.type == MountType::kSecret || m.type == MountType::kSsh || m.type == MountType::kCache;
  if (!file_info && (m.mode || m.uid || m.gid)) {
    return bad(std::string("mode, uid and gid are not allowed for ") + type_name(m.type) +
               " mounts");
  }
  if (ro_auto) m.read_only = !(m.type == MountType::kCache || m.type == MountType::kTmpfs);
  if (sharing_set && m.type != MountType::kCache) {
    return bad(std::string("invalid cache sharing set for ") + type_name(m.type) + " mount");
  }
  if (m.type == MountType::kTmpfs && !m.from.empty())
    return bad("'from' is not supported for tmpfs mounts");
  if (m.type == MountType::kSecret) {
    if (!m.from.empty()) return bad("secret mount should not have a from");
    if (m.source.empty() && m.target.empty() && m.cache_id.empty()) {
      return bad("invalid secret mount. one of source, target required");
    }
    if (!m.source.empty() && !m.cache_id.empty()) return bad("both source and id can't be set");
  }
  if (!file_info || m.type == MountType::kCache) {
    if (m.target.empty()) return bad(std::string(type_name(m.type)) + " mount requires a target");
  }
  return m;
}

Result<PortSpec> parse_port_spec(std::string_view spec) {
  auto bad = [&] {
    return fail(ErrorKind::kInvalidArgument, "invalid containerPort: " + std::string(spec));
  };
  PortSpec p;
  std::string_view ports = spec;
  auto slash = spec.find('/');
  p.proto = "tcp";
  if (slash != std::string_view::npos) {
    ports = spec.substr(0, slash);
    std::string proto = ascii_lower(spec.substr(slash + 1));
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return fail(ErrorKind::kInvalidArgument,
                  "invalid proto: " + std::string(spec.substr(slash + 1)));
    }
    p.proto = proto;
  }
  if (ports.empty())
    return fail(ErrorKind::kInvalidArgument, "no port specified: " + std::string(spec));
  auto dash = ports.find('-');
  auto first = parse_uint(ports.substr(0, dash), 10, 65535);
  if (!first) return bad();
  p.first = p.last = static_cast<uint16_t>(*first);
  if (dash != std::string_view::npos) {
    auto last = parse_uint(ports.substr(dash + 1), 10, 65535);
    if (!last) return bad();
    if (*last < *first)
      return fail(ErrorKind::kInvalidArgument,
                  "invalid range specified for container port: " + std::string(spec));
    p.last = static_cast<uint16_t>(*last);
  }
  return p;
}

}  // namespace bonsai::dockerfile
