// The line machine of the reference parser, rule for rule:
//
// 1. Input is split into physical lines that keep their line endings; a UTF-8 BOM on the first
//    line is dropped.
// 2. Parser directives (# syntax=, # escape=, # check=) are recognised only while every line so
//    far was a directive; the first other line (comment, blank or instruction) ends them. Keys
//    are case-insensitive and may appear once.
// 3. A line whose last non-blank character is the escape character (and is not itself escaped)
//    continues on the next line. Comment lines inside a continuation are dropped, blank ones too
//    (with a warning). Continuation lines keep their leading white space.
// 4. RUN, COPY and ADD in shell form (also under ONBUILD) may name heredocs (<<EOF); their bodies
//    follow the instruction, each up to its terminator line.
//
// Unlike the reference, a bad line does not stop the parse: it is recorded and parsing resumes
// at the next instruction, so that all errors are reported together.
#include "dockerfile/parser.h"

#include <algorithm>
#include <set>

#include "dockerfile/line_parsers.h"
#include "dockerfile/shell_lex.h"
#include "dockerfile/text.h"

namespace bonsai::dockerfile {

namespace {

std::vector<std::string_view> scan_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

std::string_view trim_newline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_comment(std::string_view line) {
  line = trim_left_space(line);
  return !line.empty() && line[0] == '#';
}

bool is_empty_continuation(std::string_view line) {
  return trim_left_space(trim_newline(line)).empty();
}

// Go's `\s` inside the directive regexp: ASCII space, \t \n \f \r (not \v).
bool is_re_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

class DirectiveParser {
 public:
  // Returns true when `line` is a directive. Sets `error` for a repeated or invalid one.
  bool parse_line(std::string_view line, int line_no, std::vector<Directive>& out, char& escape,
                  std::string& error) {
    if (done_) return false;
    if (line.empty() || line[0] != '#') return finish();
    line = trim_left_space(line.substr(1));
    // ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$
    size_t i = 0;
    if (i >= line.size() || !is_alpha(line[i])) return finish();
    while (i < line.size() && is_alnum(line[i])) ++i;
    std::string key = ascii_lower(line.substr(0, i));
    while (i < line.size() && is_re_space(line[i])) ++i;
    if (i >= line.size() || line[i] != '=') return finish();
    ++i;
    while (i < line.size() && is_re_space(line[i])) ++i;
    std::string_view value = line.substr(i);
    while (!value.empty() && is_re_space(value.back())) value.remove_suffix(1);
    if (value.empty()) return finish();
    if (key != "syntax" && key != "escape" && key != "check") return finish();
    if (!seen_.insert(key).second) {
      error = "only one " + key + " parser directive can be used";
      return false;
    }
    if (key == "escape") {
      if (value != "`" && value != "\\") {
        error = "invalid escape token '" + std::string(value) + "' does not match ` or \\";
        return false;
      }
      escape = value[0];
    }
    out.push_back({key, std::string(value), line_no});
    return true;
  }

 private:
  bool finish() {
    done_ = true;
    return false;
  }
  bool done_ = false;
  std::set<std::string> seen_;
};

// `([^E])E[ \t]*$|^E[ \t]*$`: strips a trailing, unescaped escape character.
bool trim_continuation(std::string& line, char escape) {
  size_t p = line.size();
  while (p > 0 && (line[p - 1] == ' ' || line[p - 1] == '\t')) --p;
  if (p == 0 || line[p - 1] != escape) return false;
  if (p >= 2 && line[p - 2] == escape) return false;
  line.resize(p - 1);
  return true;
}

bool can_contain_heredoc(const Node& node) {
  const Node* n = &node;
  if (n->command() == "onbuild" && n->sub) n = n->sub.get();
  std::string cmd = n->command();
  if (cmd != "run" && cmd != "copy" && cmd != "add") return false;
  return !n->json;
}

util::Result<std::vector<Heredoc>> heredocs_from_line(std::string_view line) {
  ShellLexOptions opt;
  opt.raw_quotes = true;
  opt.raw_escapes = true;
  opt.skip_unset_env = true;
  Env none;
  auto words = ShellLex(opt).process_words(line, none);
  std::vector<Heredoc> docs;
  if (!words) return docs;  // the reference ignores lexing errors here
  for (const auto& w : *words) {
    auto doc = TRY(parse_heredoc_word(w));
    if (doc) docs.push_back(std::move(*doc));
  }
  return docs;
}

int leading_space_bytes(std::string_view s) {
  return static_cast<int>(s.size() - trim_left_space(s).size());
}

}  // namespace

std::string Node::command() const { return ascii_lower(value); }

std::string Node::dump() const {
  std::string out = ascii_lower(value);
  if (!flags.empty()) {
    out += " [";
    for (size_t i = 0; i < flags.size(); ++i) {
      if (i > 0) out += " ";
      out += go_quote(flags[i]);
    }
    out += "]";
  }
  for (const auto& a : args) out += " " + go_quote(a);
  if (sub) out += " (" + sub->dump() + ")";
  return std::string(trim_space(out));
}

std::string Dockerfile::dump() const {
  std::string out;
  for (const auto& n : nodes) out += "(" + n.dump() + ")\n";
  return out;
}

const Directive* Dockerfile::directive(std::string_view name) const {
  for (const auto& d : directives) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

util::Result<std::optional<Heredoc>> parse_heredoc_word(std::string_view word) {
  // ^(\d*)<<(-?)([^<]*)$
  size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return std::nullopt;
  i += 2;
  bool chomp = i < word.size() && word[i] == '-';
  if (chomp) ++i;
  std::string_view rest = word.substr(i);
  if (rest.find('<') != std::string_view::npos || rest.empty()) return std::nullopt;

  Heredoc doc;
  doc.chomp = chomp;
  for (char c : digits) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    doc.fd = doc.fd > (UINT64_MAX - d) / 10 ? UINT64_MAX : doc.fd * 10 + d;
  }
  // Lex the word with and without quote removal: a difference means part of it was quoted,
  // which turns expansion of the body off.
  ShellLexOptions opt;
  opt.skip_unset_env = true;
  Env none;
  auto words = TRY(ShellLex(opt).process_words(rest, none));
  if (words.size() != 1) return std::nullopt;
  opt.raw_quotes = true;
  auto raw = TRY(ShellLex(opt).process_words(rest, none));
  if (raw.size() != words.size()) {
    return util::fail(
        util::ErrorKind::kInvalidArgument,
        "internal lexing of heredoc produced inconsistent results: " + std::string(rest));
  }
  auto quotes = [](const std::string& s) {
    return std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"');
  };
  doc.name = words[0];
  doc.expand = quotes(words[0]) == quotes(raw[0]);
  return doc;
}

std::string chomp_heredoc(std::string_view content) {
  std::string out;
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '\t') continue;
    line_start = c == '\n';
    out.push_back(c);
  }
  return out;
}

Dockerfile parse_syntax(std::string_view text, Diagnostics& diags) {
  Dockerfile df;
  df.filename = diags.file();
  const auto lines = scan_lines(text);
  DirectiveParser directives;
  std::vector<std::string> comments;
  size_t li = 0;
  int current = 0;  // physical lines consumed

  // Applies the per-line processing of the reference (processLine): trims the line ending (and,
  // for the first line of an instruction, leading white space), feeds the directive parser and
  // blanks out comment lines.
  auto process_line = [&](std::string_view raw, bool strip_left, bool& directive) {
    std::string_view token = trim_newline(raw);
    if (strip_left) token = trim_left_space(token);
    std::string err;
    directive = directives.parse_line(token, current + 1, df.directives, df.escape, err);
    if (!err.empty()) diags.error(current + 1, 1, err, token);
    return is_comment(token) ? std::string() : std::string(token);
  };

  while (li < lines.size()) {
    std::string_view raw = lines[li++];
    if (current == 0 && raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);
    if (is_comment(raw)) {
      auto comment = std::string(trim_space(raw.substr(1)));
      if (comment.empty()) {
        comments.clear();
      } else {
        comments.push_back(std::move(comment));
      }
    }
    bool directive = false;
    std::string line = process_line(raw, true, directive);
    if (directive && !comments.empty()) comments.pop_back();
    ++current;
    const int start_line = current;
    const int column = leading_space_bytes(raw) + 1;
    bool continued = trim_continuation(line, df.escape);
    if (!continued && line.empty()) continue;

    // Join continuation lines.
    bool empty_continuation = false;
    while (continued && li < lines.size()) {
      std::string_view next_raw = lines[li++];
      bool ignored;
      std::string next = process_line(next_raw, false, ignored);
      ++current;
      if (is_comment(next_raw)) continue;
      if (is_empty_continuation(next)) {
        empty_continuation = true;
        continue;
      }
      continued = trim_continuation(next, df.escape);
      line += next;
    }
    if (empty_continuation) {
      diags.warning(current, 1, "Empty continuation line found in: " + line, line);
      df.warnings.push_back(diags.warnings().back());
    }

    Node node;
    if (auto err = detail::node_from_line(node, line, df.escape)) {
      diags.error(start_line, column, *err, line);
      comments.clear();
      continue;
    }

    // Heredoc bodies follow the instruction line.
    if (can_contain_heredoc(node) && line.find("<<") != std::string::npos) {
      auto docs = heredocs_from_line(line);
      if (!docs) {
        diags.error(start_line, column, docs.error().message(), line);
        comments.clear();
        continue;
      }
      bool ok = true;
      for (auto& doc : *docs) {
        bool terminated = false;
        while (li < lines.size()) {
          std::string_view body = lines[li++];
          ++current;
          std::string_view candidate = trim_newline(body);
          if (doc.chomp) {
            while (!candidate.empty() && candidate[0] == '\t') candidate.remove_prefix(1);
          }
          if (candidate == doc.name) {
            terminated = true;
            break;
          }
          doc.content += body;
        }
        if (!terminated) {
          diags.error(start_line, column, "unterminated heredoc", "<<" + doc.name);
          ok = false;
          break;
        }
        node.heredocs.push_back(std::move(doc));
      }
      if (!ok) continue;
    }

    node.start_line = start_line;
    node.end_line = current;
    node.column = column;
    node.comments = std::move(comments);
    comments.clear();
    df.nodes.push_back(std::move(node));
  }

  if (df.nodes.empty() && !diags.has_errors()) {
    diags.error(std::max(current, 1), 1, "file with no instructions");
  }
  return df;
}

util::Result<Dockerfile> parse_dockerfile(std::string_view text, std::string_view filename) {
  Diagnostics diags{std::string(filename)};
  Dockerfile df = parse_syntax(text, diags);
  if (diags.has_errors()) return std::unexpected(diags.to_error());
  return df;
}

}  // namespace bonsai::dockerfile
