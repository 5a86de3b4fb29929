// The expansion engine mirrors the reference lexer's structure: a rune scanner, a word collector
// that splits on unquoted white space, and one routine per special character ('\'', '"', '$').
// Each routine consumes its construct and returns the text it stands for.
#include "dockerfile/shell_lex.h"

#include <algorithm>
#include <optional>

#include "dockerfile/text.h"

namespace bonsai::dockerfile {

using util::ErrorKind;
using util::Result;

namespace {

constexpr char32_t kEof = static_cast<char32_t>(-1);

util::Error syntax(std::string msg) { return util::Error(ErrorKind::kInvalidArgument, msg); }

// Text scanner over runes; invalid UTF-8 reads as U+FFFD and a leading BOM is skipped.
class RuneScanner {
 public:
  explicit RuneScanner(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
      auto d = decode_rune(s, i);
      runes_.push_back(d.rune);
      i += d.width;
    }
    if (!runes_.empty() && runes_[0] == 0xFEFF) pos_ = 1;
  }
  char32_t peek() const { return pos_ < runes_.size() ? runes_[pos_] : kEof; }
  char32_t next() { return pos_ < runes_.size() ? runes_[pos_++] : kEof; }

 private:
  std::vector<char32_t> runes_;
  size_t pos_ = 0;
};

class Words {
 public:
  void add_char(char32_t ch) {
    if (is_space(ch) && in_word_) {
      if (!buf_.empty()) {
        words_.push_back(std::move(buf_));
        buf_.clear();
        in_word_ = false;
      }
    } else if (!is_space(ch)) {
      add_raw_char(ch);
    }
  }
  void add_raw_char(char32_t ch) {
    append_rune(buf_, ch);
    in_word_ = true;
  }
  void add_string(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      auto d = decode_rune(s, i);
      add_char(d.rune);
      i += d.width;
    }
  }
  void add_raw_string(std::string_view s) {
    buf_ += s;
    in_word_ = true;
  }
  std::vector<std::string> take() {
    if (!buf_.empty()) {
      words_.push_back(std::move(buf_));
      buf_.clear();
      in_word_ = false;
    }
    return std::move(words_);
  }

 private:
  std::string buf_;
  std::vector<std::string> words_;
  bool in_word_ = false;
};

struct Processed {
  std::string word;
  std::vector<std::string> words;
};

bool is_special_param(char32_t c) {
  switch (c) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

class ShellWord {
 public:
  ShellWord(std::string_view src, const Env& env, const ShellLexOptions& o)
      : scanner_(src), env_(env), opt_(o), raw_escapes_(o.raw_escapes) {}

  Result<Processed> process_stop_on(char32_t stop, bool raw_escapes);

 private:
  Result<std::string> process_single_quote();
  Result<std::string> process_double_quote();
  Result<std::string> process_dollar();
  Result<std::string> process_modifier(const std::string& name, char32_t mod, bool null_is_unset,
                                       std::string chs);
  Result<std::string> process_replace(const std::string& name);
  std::string process_name();
  const std::string* get_env(const std::string& name) const { return env_.get(name); }

  RuneScanner scanner_;
  const Env& env_;
  const ShellLexOptions& opt_;
  bool raw_escapes_;
  int depth_ = 0;
};

Result<Processed> ShellWord::process_stop_on(char32_t stop, bool raw_escapes) {
  if (++depth_ > kMaxExpansionDepth) return std::unexpected(syntax("expansion nested too deeply"));
  struct Restore {
    ShellWord* w;
    bool saved;
    ~Restore() {
      w->raw_escapes_ = saved;
      --w->depth_;
    }
  } restore{this, raw_escapes_};
  raw_escapes_ = raw_escapes;

  std::string result;
  Words words;
  while (scanner_.peek() != kEof) {
    char32_t ch = scanner_.peek();
    if (stop != kEof && ch == stop) {
      scanner_.next();
      return Processed{std::move(result), words.take()};
    }
    bool quote = !opt_.skip_process_quotes && (ch == '\'' || ch == '"');
    if (ch == '$' || quote) {
      auto tmp = ch == '$' ? process_dollar()
                           : (ch == '\'' ? process_single_quote() : process_double_quote());
      if (!tmp) return std::unexpected(std::move(tmp).error());
      result += *tmp;
      if (ch == '$') {
        words.add_string(*tmp);
      } else {
        words.add_raw_string(*tmp);
      }
      continue;
    }
    ch = scanner_.next();
    if (ch == opt_.escape) {
      if (raw_escapes_) {
        words.add_raw_char(ch);
        append_rune(result, ch);
      }
      ch = scanner_.next();
      if (ch == kEof) break;
      words.add_raw_char(ch);
    } else {
      words.add_char(ch);
    }
    append_rune(result, ch);
  }
  if (stop != kEof) {
    std::string s;
    append_rune(s, stop);
    return std::unexpected(syntax("unexpected end of statement while looking for matching " + s));
  }
  return Processed{std::move(result), words.take()};
}

Result<std::string> ShellWord::process_single_quote() {
  std::string result;
  char32_t ch = scanner_.next();
  if (opt_.raw_quotes) append_rune(result, ch);
  for (;;) {
    ch = scanner_.next();
    if (ch == kEof) {
      return std::unexpected(
          syntax("unexpected end of statement while looking for matching single-quote"));
    }
    if (ch == '\'') {
      if (opt_.raw_quotes) append_rune(result, ch);
      return result;
    }
    append_rune(result, ch);
  }
}

Result<std::string> ShellWord::process_double_quote() {
  std::string result;
  char32_t ch = scanner_.next();
  if (opt_.raw_quotes) append_rune(result, ch);
  for (;;) {
    char32_t p = scanner_.peek();
    if (p == kEof) {
      return std::unexpected(
          syntax("unexpected end of statement while looking for matching double-quote"));
    }
    if (p == '"') {
      ch = scanner_.next();
      if (opt_.raw_quotes) append_rune(result, ch);
      return result;
    }
    if (p == '$') {
      auto value = process_dollar();
      if (!value) return value;
      result += *value;
      continue;
    }
    ch = scanner_.next();
    if (ch == opt_.escape) {
      if (raw_escapes_) append_rune(result, ch);
      char32_t after = scanner_.peek();
      if (after == kEof) continue;  // an escape at the very end is dropped
      if (after == '"' || after == '$' || after == opt_.escape) ch = scanner_.next();
    }
    append_rune(result, ch);
  }
}

std::string ShellWord::process_name() {
  std::string name;
  while (scanner_.peek() != kEof) {
    char32_t ch = scanner_.peek();
    if (name.empty() && is_digit(ch)) {
      while (scanner_.peek() != kEof && is_digit(scanner_.peek()))
        append_rune(name, scanner_.next());
      return name;
    }
    if (name.empty() && is_special_param(ch)) {
      append_rune(name, scanner_.next());
      return name;
    }
    if (!is_letter(ch) && !is_digit(ch) && ch != '_') break;
    append_rune(name, scanner_.next());
  }
  return name;
}

Result<std::string> ShellWord::process_dollar() {
  scanner_.next();  // '$'
  if (scanner_.peek() != '{') {
    std::string name = process_name();
    if (name.empty()) return std::string("$");
    const std::string* v = get_env(name);
    if (!v && opt_.skip_unset_env) return "$" + name;
    return v ? *v : std::string();
  }
  scanner_.next();  // '{'
  switch (scanner_.peek()) {
    case kEof:
      return std::unexpected(syntax("syntax error: missing '}'"));
    case '{':
    case '}':
    case ':':
      return std::unexpected(syntax("syntax error: bad substitution"));
    default:
      break;
  }
  std::string name = process_name();
  char32_t ch = scanner_.next();
  std::string chs;
  if (ch == kEof) return std::unexpected(syntax("syntax error: missing '}'"));
  append_rune(chs, ch);
  switch (ch) {
    case '}': {
      const std::string* v = get_env(name);
      if (!v && opt_.skip_unset_env) return "${" + name + "}";
      return v ? *v : std::string();
    }
    case ':': {
      char32_t mod = scanner_.next();
      if (mod == kEof) return std::unexpected(syntax("syntax error: missing '}'"));
      append_rune(chs, mod);
      return process_modifier(name, mod, true, chs);
    }
    case '+':
    case '-':
    case '?':
    case '#':
    case '%':
      return process_modifier(name, ch, false, chs);
    case '/':
      return process_replace(name);
    default:
      return std::unexpected(syntax("unsupported modifier (" + chs + ") in substitution"));
  }
}

Result<std::string> ShellWord::process_modifier(const std::string& name, char32_t mod,
                                                bool null_is_unset, std::string chs) {
  bool pattern = mod == '#' || mod == '%';
  if (null_is_unset && pattern) {
    return std::unexpected(syntax("unsupported modifier (" + chs + ") in substitution"));
  }
  auto processed = process_stop_on('}', pattern);
  if (!processed) {
    if (scanner_.peek() == kEof) return std::unexpected(syntax("syntax error: missing '}'"));
    return std::unexpected(std::move(processed).error());
  }
  std::string word = std::move(processed->word);
  const std::string* value = get_env(name);
  if (!value && opt_.skip_unset_env) return "${" + name + chs + word + "}";
  bool unset = !value || (null_is_unset && value->empty());
  switch (mod) {
    case '-':
      return unset ? word : *value;
    case '+':
      return unset ? std::string() : word;
    case '?':
      if (!value) {
        return std::unexpected(
            syntax(name + ": " + (word.empty() ? "is not allowed to be unset" : word)));
      }
      if (unset) {
        return std::unexpected(
            syntax(name + ": " + (word.empty() ? "is not allowed to be empty" : word)));
      }
      return *value;
    case '#':
    case '%': {
      bool longest = !word.empty() && static_cast<char32_t>(word[0]) == mod;
      if (longest) word.erase(0, 1);
      auto pat = ShellPattern::compile(word);
      if (!pat) {
        return std::unexpected(
            syntax("invalid pattern (" + word + ") in substitution: " + pat.error().message()));
      }
      std::string v = value ? *value : std::string();
      return mod == '%' ? pat->trim_suffix(v, longest) : pat->trim_prefix(v, longest);
    }
    default:
      return std::unexpected(syntax("unsupported modifier (" + chs + ") in substitution"));
  }
}

Result<std::string> ShellWord::process_replace(const std::string& name) {
  bool all = scanner_.peek() == '/';
  if (all) scanner_.next();
  auto pattern = process_stop_on('/', true);
  if (!pattern) {
    if (scanner_.peek() == kEof) return std::unexpected(syntax("syntax error: missing '/' in ${}"));
    return std::unexpected(std::move(pattern).error());
  }
  auto replacement = process_stop_on('}', true);
  if (!replacement) {
    if (scanner_.peek() == kEof) return std::unexpected(syntax("syntax error: missing '}'"));
    return std::unexpected(std::move(replacement).error());
  }
  const std::string* value = get_env(name);
  if (!value && opt_.skip_unset_env) {
    return "${" + name + "/" + pattern->word + "/" + replacement->word + "}";
  }
  auto pat = ShellPattern::compile(pattern->word);
  if (!pat) {
    return std::unexpected(syntax("invalid pattern (" + pattern->word +
                                  ") in substitution: " + pat.error().message()));
  }
  return pat->replace(value ? *value : std::string(), replacement->word, all);
}

Result<Processed> process(std::string_view word, const Env& env, const ShellLexOptions& opt) {
  ShellWord sw(word, env, opt);
  auto r = sw.process_stop_on(kEof, opt.raw_escapes);
  if (!r) {
    return std::unexpected(std::move(r).error().context("failed to process " + go_quote(word)));
  }
  return r;
}

// Runes of a string with their byte offsets; offsets has one extra entry for the end.
struct RuneView {
  std::vector<char32_t> runes;
  std::vector<size_t> offsets;
  explicit RuneView(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
      auto d = decode_rune(s, i);
      runes.push_back(d.rune);
      offsets.push_back(i);
      i += d.width;
    }
    offsets.push_back(s.size());
  }
};

}  // namespace

Result<std::string> ShellLex::process_word(std::string_view word, const Env& env) const {
  auto r = process(word, env, options_);
  if (!r) return std::unexpected(std::move(r).error());
  return std::move(r->word);
}

Result<std::vector<std::string>> ShellLex::process_words(std::string_view word,
                                                         const Env& env) const {
  auto r = process(word, env, options_);
  if (!r) return std::unexpected(std::move(r).error());
  return std::move(r->words);
}

Result<ShellPattern> ShellPattern::compile(std::string_view pattern) {
  ShellPattern p;
  RuneScanner s(pattern);
  for (char32_t tok = s.next(); tok != kEof; tok = s.next()) {
    if (tok == '*') {
      p.tokens_.push_back({Token::kStar, 0});
    } else if (tok == '?') {
      p.tokens_.push_back({Token::kAny, 0});
    } else if (tok == '\\') {
      // \} and \/ are escapes of the ${} syntax, not part of the pattern.
      if (s.peek() == '}' || s.peek() == '/') continue;
      char32_t lit = s.next();
      if (lit != '*' && lit != '?' && lit != '\\') {
        std::string c;
        if (lit != kEof) append_rune(c, lit);
        return util::fail(ErrorKind::kInvalidArgument, "invalid escape '\\" + c + "'");
      }
      p.tokens_.push_back({Token::kLiteral, lit});
    } else {
      p.tokens_.push_back({Token::kLiteral, tok});
    }
  }
  return p;
}

namespace {
// NFA simulation over the token list; returns every rune index (relative to `runes`) at which a
// match that began at `start` ends, in increasing order.
template <typename Tokens, typename Fn>
void for_each_match_end(const Tokens& tokens, const std::vector<char32_t>& runes, size_t start,
                        Fn&& on_end) {
  const size_t m = tokens.size();
  std::vector<char> cur(m + 1, 0), nxt(m + 1, 0);
  auto close = [&](std::vector<char>& set) {
    for (size_t j = 0; j < m; ++j) {
      if (set[j] && tokens[j].kind == 2 /* star */) set[j + 1] = 1;
    }
  };
  cur[0] = 1;
  close(cur);
  if (cur[m]) on_end(start);
  for (size_t i = start; i < runes.size(); ++i) {
    std::fill(nxt.begin(), nxt.end(), 0);
    bool any = false;
    char32_t r = runes[i];
    for (size_t j = 0; j < m; ++j) {
      if (!cur[j]) continue;
      const auto& t = tokens[j];
      if (t.kind == 0 && t.rune == r) nxt[j + 1] = any = 1;
      if (t.kind == 1 && r != '\n') nxt[j + 1] = any = 1;
      if (t.kind == 2 && r != '\n') nxt[j] = any = 1;
    }
    if (!any) return;
    close(nxt);
    cur.swap(nxt);
    if (cur[m]) on_end(i + 1);
  }
}

struct PlainToken {
  int kind;
  char32_t rune;
};
}  // namespace

size_t ShellPattern::match_prefix(std::string_view value, size_t start, bool longest) const {
  RuneView v(value);
  std::vector<PlainToken> toks;
  for (const auto& t : tokens_) toks.push_back({static_cast<int>(t.kind), t.rune});
  size_t start_rune = 0;
  while (start_rune < v.runes.size() && v.offsets[start_rune] < start) ++start_rune;
  std::optional<size_t> found;
  for_each_match_end(toks, v.runes, start_rune, [&](size_t end) {
    if (!found || longest) found = end;
  });
  return found ? v.offsets[*found] : std::string_view::npos;
}

std::string ShellPattern::trim_prefix(std::string_view value, bool longest) const {
  size_t end = match_prefix(value, 0, longest);
  if (end == std::string_view::npos) return std::string(value);
  return std::string(value.substr(end));
}

std::string ShellPattern::trim_suffix(std::string_view value, bool longest) const {
  // Reverse both the pattern and the value so the rightmost match becomes a leftmost one.
  RuneView v(value);
  std::vector<char32_t> rev(v.runes.rbegin(), v.runes.rend());
  std::vector<PlainToken> toks;
  for (auto it = tokens_.rbegin(); it != tokens_.rend(); ++it) {
    toks.push_back({static_cast<int>(it->kind), it->rune});
  }
  std::optional<size_t> found;
  for_each_match_end(toks, rev, 0, [&](size_t end) {
    if (!found || longest) found = end;
  });
  if (!found) return std::string(value);
  size_t keep_runes = v.runes.size() - *found;
  return std::string(value.substr(0, v.offsets[keep_runes]));
}

std::string ShellPattern::replace(std::string_view value, std::string_view replacement,
                                  bool all) const {
  RuneView v(value);
  std::vector<PlainToken> toks;
  for (const auto& t : tokens_) toks.push_back({static_cast<int>(t.kind), t.rune});
  // Leftmost match at or after rune index `from`, longest at that start.
  auto find = [&](size_t from) -> std::optional<std::pair<size_t, size_t>> {
    for (size_t s = from; s <= v.runes.size(); ++s) {
      std::optional<size_t> end;
      for_each_match_end(toks, v.runes, s, [&](size_t e) { end = e; });
      if (end) return std::make_pair(s, *end);
    }
    return std::nullopt;
  };
  std::string out;
  if (!all) {
    auto m = find(0);
    if (!m) return std::string(value);
    out = value.substr(0, v.offsets[m->first]);
    out += replacement;
    out += value.substr(v.offsets[m->second]);
    return out;
  }
  // Go's ReplaceAll: non-overlapping matches; an empty match right after a match is skipped.
  size_t last_end = 0;
  size_t search = 0;
  bool matched_before = false;
  while (search <= v.runes.size()) {
    auto m = find(search);
    if (!m) break;
    out += value.substr(v.offsets[last_end], v.offsets[m->first] - v.offsets[last_end]);
    if (m->second > last_end || m->first == 0 || !matched_before) out += replacement;
    matched_before = true;
    last_end = m->second;
    if (search + 1 > m->second) {
      ++search;
    } else {
      search = m->second;
    }
  }
  out += value.substr(v.offsets[std::min(last_end, v.runes.size())]);
  return out;
}

}  // namespace bonsai::dockerfile
