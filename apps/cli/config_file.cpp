#include "config_file.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>

#include <fstream>
#include <string_view>

#include "reckon/core/error.hpp"

namespace reckon::cli {
namespace {

std::string where(const std::string& path, const toml::node& n) {
  return fmt::format("{}:{}", path, n.source().begin.line);
}

// A scalar as the text CLI11 parses.
std::string scalar_text(const toml::node& n, const std::string& path, const std::string& key) {
  if (auto s = n.as_string()) return s->get();
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto f = n.as_floating_point()) return fmt::format("{}", f->get());
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  throw InvalidInput(fmt::format("{}: {}: expected a string, number or boolean", where(path, n),
                                 key));
}

// Debian's toml++ 3.3 tells horizontal whitespace from other characters with a table that
// reaches __builtin_unreachable() for most non-ASCII code points (U+00A1-U+0499, U+2F8E-U+3387
// but U+3000, U+FB06-U+FEFE; found by fuzz_config): undefined behaviour wherever it looks for
// whitespace, and on malformed input it looks in places no lexer of ours can predict (a first
// version that let non-ASCII bytes through inside strings was caught again by fuzz_config). So
// toml++ is only ever given ASCII: inside a basic string a non-ASCII character becomes its \u
// escape, a literal string is written as the equal basic string, a comment loses it; anywhere
// else (a bare key, between tokens, a multi-line literal string) it is an error here.
std::string ascii_for_toml(std::string_view text, const std::string& path) {
  enum { kNormal, kBasic, kLiteral, kMultiBasic, kMultiLiteral, kComment } state = kNormal;
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t line = 1, column = 0;
  const auto fail = [&](std::string_view what) {
    throw InvalidInput(fmt::format("{}:{}:{}: {}", path, line, column, what));
  };
  // Decodes the UTF-8 sequence starting at i (a byte >= 0x80) and moves i to its last byte.
  const auto decode = [&](std::size_t& i) -> char32_t {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const int extra = c >= 0xF0 && c <= 0xF4 ? 3 : c >= 0xE0 && c < 0xF0 ? 2 : c >= 0xC2 && c < 0xE0 ? 1 : -1;
    if (extra < 0) fail("not UTF-8 text");
    char32_t cp = c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80)
        fail("not UTF-8 text");
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    static constexpr char32_t kLeast[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kLeast[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      fail("not UTF-8 text");
    i += static_cast<std::size_t>(extra);
    column += static_cast<std::size_t>(extra);
    return cp;
  };
  const auto escape = [&](char32_t cp) {
    out += cp <= 0xFFFF ? fmt::format("\\u{:04X}", static_cast<unsigned>(cp))
                        : fmt::format("\\U{:08X}", static_cast<unsigned>(cp));
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    const unsigned char c = static_cast<unsigned char>(ch);
    ++column;
    if (c == '\n') {
      if (state == kBasic || state == kLiteral || state == kComment) state = kNormal;
      ++line;
      column = 0;
      out += ch;
      continue;
    }
    const auto starts = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
    const auto copy = [&](std::size_t n) {
      out.append(text.substr(i, n));
      i += n - 1, column += n - 1;
    };
    // A multi-line string may end in one or two quotes before its closing three.
    const auto closing_run = [&](char q) {
      std::size_t n = 3;
      while (n < 5 && i + n < text.size() && text[i + n] == q) ++n;
      return n;
    };
    if (c >= 0x80) {
      switch (state) {
        case kBasic:
        case kMultiBasic:
        case kLiteral: escape(decode(i)); break;
        case kComment: decode(i), out += '?'; break;
        case kNormal:
        case kMultiLiteral:
          fail("a non-ASCII character outside a string or a comment (reckon's TOML reader "
               "takes them only in comments and in strings other than multi-line literal ones)");
      }
      continue;
    }
    switch (state) {
      case kNormal:
        if (c == '#') state = kComment, out += ch;
        else if (starts("\"\"\"")) state = kMultiBasic, copy(3);
        else if (starts("'''")) state = kMultiLiteral, copy(3);
        else if (c == '"') state = kBasic, out += ch;
        else if (c == '\'') state = kLiteral, out += '"';
        else out += ch;
        break;
      case kBasic:
      case kMultiBasic:
        if (c == '\\') {
          // An escape is copied whole when its next character is plain ASCII; a backslash and
          // a non-ASCII character is no TOML escape, and writing \u.... there would make one.
          if (i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80)
            fail("a backslash before a non-ASCII character is no escape");
          if (i + 1 < text.size() && text[i + 1] != '\n') copy(2);
          else out += ch;
        } else if (state == kBasic && c == '"') {
          state = kNormal, out += ch;
        } else if (state == kMultiBasic && starts("\"\"\"")) {
          state = kNormal, copy(closing_run('"'));
        } else {
          out += ch;
        }
        break;
      case kLiteral:
        // Written out as a basic string: its backslashes and double quotes are escaped.
        if (c == '\'') state = kNormal, out += '"';
        else if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else out += ch;
        break;
      case kMultiLiteral:
        if (starts("'''")) state = kNormal, copy(closing_run('\''));
        else out += ch;
        break;
      case kComment:
        out += ch;
        break;
    }
  }
  return out;  // an unterminated string stays unterminated: toml++ reports it
}

constexpr std::size_t kMaxConfigBytes = 1 << 20;

}  // namespace

void apply_config_file(CLI::App* cmd, const std::string& path, const std::set<std::string>& skip) {
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError(fmt::format("{}: cannot read the config file", path));
    text.resize(kMaxConfigBytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    RECKON_CHECK(text.size() <= kMaxConfigBytes, "{}: a config file has at most {} bytes", path,
                 kMaxConfigBytes);
  }
  const std::string ascii = ascii_for_toml(text, path);
  toml::table table;
  try {
    table = toml::parse(ascii, path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw InvalidInput(fmt::format("{}:{}:{}: {}", path, src.begin.line, src.begin.column,
                                   e.description()));
  } catch (const std::exception& e) {
    throw IoError(fmt::format("{}: cannot read: {}", path, e.what()));
  }
  for (const auto& [k, node] : table) {
    std::string key(k.str());
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    CLI::Option* opt = flag.empty() || skip.contains(flag)
                           ? nullptr
                           : cmd->get_option_no_throw("--" + flag);
    if (!opt) {
      std::string known;
      for (const CLI::Option* o : cmd->get_options()) {
        const auto& names = o->get_lnames();
        if (names.empty() || names[0] == "help" || skip.contains(names[0])) continue;
        known += (known.empty() ? "" : ", ") + names[0];
      }
      throw InvalidInput(fmt::format("{}: unknown key \"{}\" (known: {})", where(path, node), key,
                                     known));
    }
    if (opt->count() > 0) continue;  // the command line wins
    std::vector<std::string> values;
    if (const auto* arr = node.as_array()) {
      for (const auto& v : *arr) values.push_back(scalar_text(v, path, key));
    } else {
      RECKON_CHECK(!node.is_table(), "{}: {}: expected a value, not a table", where(path, node),
                   key);
      values.push_back(scalar_text(node, path, key));
    }
    try {
      opt->clear();
      for (auto& v : values) opt->add_result(v);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw InvalidInput(fmt::format("{}: {}: {}", where(path, node), key, e.what()));
    }
  }
}

}  // namespace reckon::cli
