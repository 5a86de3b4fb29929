// Argument splitting per instruction, following the reference parser rule for rule:
//
//   ADD COPY VOLUME          JSON array, else white-space separated words
//   RUN CMD ENTRYPOINT SHELL JSON array, else the whole rest as one string
//   ENV LABEL                "k v" (old form: one pair, value is the raw rest) or k=v words,
//                            each pair dumped as a triple k, v, "" or "="
//   ARG                      words, quotes kept
//   FROM EXPOSE              white-space separated words
//   MAINTAINER USER WORKDIR STOPSIGNAL   the whole rest
//   HEALTHCHECK              first word, then as CMD
//   ONBUILD                  a nested instruction
//   anything else            one empty argument (rejected later, in instructions.cc)
//
// Some loops here walk bytes rather than runes and widen each byte to a rune, as the reference
// does; this is deliberate so that non-ASCII text in flags comes out identically.
#include "dockerfile/line_parsers.h"

#include "dockerfile/text.h"

namespace bonsai::dockerfile::detail {

namespace {

bool is_ws_class(char c) {  // [\t\v\f\r ]
  return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' ';
}

// regexp `[\t\v\f\r ]+`.Split(s, n) for n == -1 (all) or n == 2.
std::vector<std::string> split_ws(std::string_view s, int n) {
  std::vector<std::string> out;
  size_t start = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (n > 0 && static_cast<int>(out.size()) == n - 1) break;
    if (is_ws_class(s[i])) {
      size_t j = i;
      while (j < s.size() && is_ws_class(s[j])) ++j;
      out.emplace_back(s.substr(start, i - start));
      start = i = j;
    } else {
      ++i;
    }
  }
  out.emplace_back(s.substr(start));
  return out;
}

void append_byte_as_rune(std::string& out, unsigned char b) { append_rune(out, b); }

}  // namespace

SplitLine split_command(std::string_view line) {
  SplitLine out;
  auto parts = split_ws(trim_space(line), 2);
  out.cmd = parts[0];
  if (parts.size() < 2) return out;
  std::string_view rest = parts[1];
  // Builder flags: leading words that start with "--"; "--" alone ends them.
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  std::string_view remaining;
  bool done = false;
  for (size_t pos = 0; pos <= rest.size() && !done; ++pos) {
    unsigned char ch = pos < rest.size() ? static_cast<unsigned char>(rest[pos]) : 0;
    if (phase == kSpaces) {
      if (pos == rest.size()) break;
      if (is_space_byte(ch)) continue;
      if (ch != '-' || pos + 1 == rest.size() || rest[pos + 1] != '-') {
        remaining = rest.substr(pos);
        done = true;
        break;
      }
      phase = kWord;
    }
    if (pos == rest.size()) {
      if (word != "--" && (blank_ok || !word.empty())) out.flags.push_back(word);
      break;
    }
    if (phase == kWord) {
      if (is_space_byte(ch)) {
        phase = kSpaces;
        if (word == "--") {
          remaining = rest.substr(pos);
          done = true;
          break;
        }
        if (blank_ok || !word.empty()) out.flags.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = static_cast<char>(ch);
        blank_ok = true;
        phase = kQuote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == rest.size()) continue;
        ch = static_cast<unsigned char>(rest[++pos]);
      }
      append_byte_as_rune(word, ch);
      continue;
    }
    // kQuote
    if (ch == static_cast<unsigned char>(quote)) {
      phase = kWord;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == rest.size()) {
        phase = kWord;
        continue;
      }
      ch = static_cast<unsigned char>(rest[++pos]);
    }
    append_byte_as_rune(word, ch);
  }
  out.args = trim_space(remaining);
  return out;
}

std::vector<std::string> parse_words(std::string_view rest, char escape) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::vector<std::string> words;
  std::string word;
  char32_t quote = 0;
  bool blank_ok = false;
  char32_t ch = 0;
  size_t width = 0;
  const char32_t esc = static_cast<unsigned char>(escape);
  for (size_t pos = 0; pos <= rest.size(); pos += width) {
    if (pos != rest.size()) {
      auto d = decode_rune(rest, pos);
      ch = d.rune;
      width = d.width;
    }
    if (phase == kSpaces) {
      if (pos == rest.size()) break;
      if (is_space(ch)) continue;
      phase = kWord;
    }
    if (pos == rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == kWord) {
      if (is_space(ch)) {
        phase = kSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kQuote;
      }
      if (ch == esc) {
        if (pos + width == rest.size()) continue;  // a trailing escape is dropped
        append_rune(word, ch);
        pos += width;
        auto d = decode_rune(rest, pos);
        ch = d.rune;
        width = d.width;
      }
      append_rune(word, ch);
      continue;
    }
    // kQuote
    if (ch == quote) phase = kWord;
    if (ch == esc && quote != '\'') {
      if (pos + width == rest.size()) {
        phase = kWord;
        continue;
      }
      pos += width;
      append_rune(word, ch);
      auto d = decode_rune(rest, pos);
      ch = d.rune;
      width = d.width;
    }
    append_rune(word, ch);
  }
  return words;
}

namespace {

// A validating JSON reader (RFC 8259 as Go's encoding/json accepts it).
class Json {
 public:
  explicit Json(std::string_view s) : s_(s) {}

  // Validates the whole text as one array; collects top-level elements that are strings and
  // notes whether any element was not a string.
  bool read_top_array(std::vector<std::string>& items, bool& all_strings) {
    skip_ws();
    if (!eat('[')) return false;
    all_strings = true;
    skip_ws();
    if (eat(']')) return finish();
    for (;;) {
      skip_ws();
      if (peek() == '"') {
        std::string str;
        if (!read_string(&str)) return false;
        items.push_back(std::move(str));
      } else {
        all_strings = false;
        if (!read_value(1)) return false;
      }
      skip_ws();
      if (eat(',')) continue;
      if (eat(']')) return finish();
      return false;
    }
  }

 private:
  static constexpr int kMaxDepth = 10000;

  int peek() const { return i_ < s_.size() ? static_cast<unsigned char>(s_[i_]) : -1; }
  bool eat(char c) {
    if (peek() != static_cast<unsigned char>(c)) return false;
    ++i_;
    return true;
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool finish() {
    skip_ws();
    return i_ == s_.size();
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool digits() {
    size_t start = i_;
    while (peek() >= '0' && peek() <= '9') ++i_;
    return i_ > start;
  }
  bool read_number() {
    eat('-');
    if (eat('0')) {
    } else if (peek() >= '1' && peek() <= '9') {
      digits();
    } else {
      return false;
    }
    if (eat('.') && !digits()) return false;
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      if (!digits()) return false;
    }
    return true;
  }
  bool read_value(int depth) {
    if (depth > kMaxDepth) return false;
    skip_ws();
    int c = peek();
    if (c == '"') return read_string(nullptr);
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    if (c == '-' || (c >= '0' && c <= '9')) return read_number();
    if (c == '[' || c == '{') {
      char close = c == '[' ? ']' : '}';
      ++i_;
      skip_ws();
      if (eat(close)) return true;
      for (;;) {
        if (close == '}') {
          skip_ws();
          if (!read_string(nullptr)) return false;
          skip_ws();
          if (!eat(':')) return false;
        }
        if (!read_value(depth + 1)) return false;
        skip_ws();
        if (eat(',')) continue;
        return eat(close);
      }
    }
    return false;
  }
  static int hex(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool read_u4(char32_t& out) {
    out = 0;
    for (int k = 0; k < 4; ++k) {
      int h = hex(peek());
      if (h < 0) return false;
      out = out * 16 + static_cast<char32_t>(h);
      ++i_;
    }
    return true;
  }
  bool read_string(std::string* out) {
    if (!eat('"')) return false;
    for (;;) {
      int c = peek();
      if (c < 0 || c < 0x20) return false;
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c == '\\') {
        ++i_;
        int e = peek();
        ++i_;
        char32_t r = 0;
        switch (e) {
          case '"':
            r = '"';
            break;
          case '\\':
            r = '\\';
            break;
          case '/':
            r = '/';
            break;
          case 'b':
            r = '\b';
            break;
          case 'f':
            r = '\f';
            break;
          case 'n':
            r = '\n';
            break;
          case 'r':
            r = '\r';
            break;
          case 't':
            r = '\t';
            break;
          case 'u': {
            if (!read_u4(r)) return false;
            if (r >= 0xD800 && r < 0xDC00) {
              // A high surrogate combines with a following \u low surrogate.
              size_t save = i_;
              char32_t lo;
              if (eat('\\') && eat('u') && read_u4(lo) && lo >= 0xDC00 && lo < 0xE000) {
                r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
              } else {
                i_ = save;
                r = kRuneError;
              }
            } else if (r >= 0xDC00 && r < 0xE000) {
              r = kRuneError;
            }
            break;
          }
          default:
            return false;
        }
        if (out) append_rune(*out, r);
        continue;
      }
      auto d = decode_rune(s_, i_);
      if (out) append_rune(*out, d.rune);
      i_ += d.width;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

constexpr const char* kNotStringArray =
    "when using JSON array syntax, arrays must be comprised of strings only";

// parseMaybeJSON: exec form, else the whole rest as one argument.
std::optional<std::string> maybe_json(Node& node, std::string_view rest) {
  if (rest.empty()) return std::nullopt;
  std::vector<std::string> items;
  switch (parse_json_array(rest, items)) {
    case JsonStatus::kOk:
      node.args.insert(node.args.end(), items.begin(), items.end());
      node.json = true;
      return std::nullopt;
    case JsonStatus::kNotStrings:
      return kNotStringArray;
    case JsonStatus::kNotJson:
      node.args.emplace_back(rest);
      return std::nullopt;
  }
  return std::nullopt;
}

void whitespace_list(Node& node, std::string_view rest) {
  if (rest.empty()) return;
  for (auto& w : split_ws(rest, -1)) node.args.push_back(std::move(w));
}

std::optional<std::string> maybe_json_to_list(Node& node, std::string_view rest) {
  std::vector<std::string> items;
  switch (parse_json_array(rest, items)) {
    case JsonStatus::kOk:
      node.args = std::move(items);
      node.json = true;
      return std::nullopt;
    case JsonStatus::kNotStrings:
      return kNotStringArray;
    case JsonStatus::kNotJson:
      whitespace_list(node, rest);
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> name_val(Node& node, std::string_view rest, std::string_view key,
                                    char escape) {
  auto words = parse_words(rest, escape);
  if (words.empty()) return std::nullopt;
  if (words[0].find('=') == std::string::npos) {
    auto parts = split_ws(rest, 2);
    if (parts.size() < 2) return std::string(key) + " must have two arguments";
    node.args = {parts[0], parts[1], ""};
    return std::nullopt;
  }
  for (const auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos) {
      return "Syntax error - can't find = in " + go_quote(w) + ". Must be of the form: name=value";
    }
    node.args.push_back(w.substr(0, eq));
    node.args.push_back(w.substr(eq + 1));
    node.args.push_back("=");
  }
  return std::nullopt;
}

std::optional<std::string> health_config(Node& node, std::string_view rest) {
  size_t sep = 0;
  while (sep < rest.size() && !is_space_byte(static_cast<unsigned char>(rest[sep]))) ++sep;
  size_t next = sep;
  while (next < rest.size() && is_space_byte(static_cast<unsigned char>(rest[next]))) ++next;
  if (sep == 0) return std::nullopt;
  node.args.emplace_back(rest.substr(0, sep));
  return maybe_json(node, rest.substr(next));
}

}  // namespace

JsonStatus parse_json_array(std::string_view rest, std::vector<std::string>& out) {
  rest = trim_left_space(rest);
  if (rest.empty() || rest[0] != '[') return JsonStatus::kNotJson;
  std::vector<std::string> items;
  bool all_strings = true;
  Json json(rest);
  if (!json.read_top_array(items, all_strings)) return JsonStatus::kNotJson;
  if (!all_strings) return JsonStatus::kNotStrings;
  out = std::move(items);
  return JsonStatus::kOk;
}

std::optional<std::string> parse_arguments(Node& node, std::string_view rest, char escape,
                                           int depth) {
  std::string cmd = node.command();
  if (cmd == "add" || cmd == "copy" || cmd == "volume") return maybe_json_to_list(node, rest);
  if (cmd == "run" || cmd == "cmd" || cmd == "entrypoint" || cmd == "shell") {
    return maybe_json(node, rest);
  }
  if (cmd == "env") return name_val(node, rest, "ENV", escape);
  if (cmd == "label") return name_val(node, rest, "LABEL", escape);
  if (cmd == "arg") {
    node.args = parse_words(rest, escape);
    return std::nullopt;
  }
  if (cmd == "from" || cmd == "expose") {
    whitespace_list(node, rest);
    return std::nullopt;
  }
  if (cmd == "maintainer" || cmd == "user" || cmd == "workdir" || cmd == "stopsignal") {
    if (!rest.empty()) node.args.emplace_back(rest);
    return std::nullopt;
  }
  if (cmd == "healthcheck") return health_config(node, rest);
  if (cmd == "onbuild") {
    if (rest.empty()) return std::nullopt;
    if (depth >= kMaxOnbuildDepth) return "ONBUILD nested too deeply";
    auto sub = std::make_unique<Node>();
    if (auto err = node_from_line(*sub, rest, escape, depth + 1)) return err;
    node.sub = std::move(sub);
    return std::nullopt;
  }
  node.args.emplace_back();  // unknown instruction: kept, with one empty argument
  return std::nullopt;
}

std::optional<std::string> node_from_line(Node& node, std::string_view line, char escape,
                                          int depth) {
  auto split = split_command(line);
  node.value = std::move(split.cmd);
  node.flags = std::move(split.flags);
  node.original = line;
  return parse_arguments(node, split.args, escape, depth);
}

}  // namespace bonsai::dockerfile::detail
