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
// reaches __builtin_unreachable() for most non-ASCII code points (U+00E9 among them; found by
// fuzz_config): undefined behaviour wherever it looks for whitespace, that is between tokens
// and inside multi-line strings. So non-ASCII text is let through only where it never looks:
// inside single-line strings and comments; anywhere else it is an error here, before parsing.
void check_where_non_ascii_is(std::string_view text, const std::string& path) {
  enum { kNormal, kBasic, kLiteral, kMultiBasic, kMultiLiteral, kComment } state = kNormal;
  std::size_t line = 1, column = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      if (state == kBasic || state == kLiteral || state == kComment) state = kNormal;
      continue;
    }
    const bool multi = state == kMultiBasic || state == kMultiLiteral;
    if (c >= 0x80 && (state == kNormal || multi))
      throw InvalidInput(fmt::format(
          "{}:{}:{}: a non-ASCII character outside a one-line string or a comment (reckon's "
          "TOML reader takes them only there)",
          path, line, column));
    const auto starts = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
    const auto skip = [&](std::size_t n) { i += n, column += n; };
    // An escape's next character is skipped when it is plain ASCII (a quote, a letter): a
    // newline is counted, a non-ASCII byte checked like any other.
    const auto escaped = [&] {
      if (i + 1 < text.size() && text[i + 1] != '\n' &&
          static_cast<unsigned char>(text[i + 1]) < 0x80)
        skip(1);
    };
    switch (state) {
      case kNormal:
        if (c == '#') state = kComment;
        else if (starts("\"\"\"")) state = kMultiBasic, skip(2);
        else if (starts("'''")) state = kMultiLiteral, skip(2);
        else if (c == '"') state = kBasic;
        else if (c == '\'') state = kLiteral;
        break;
      case kBasic:
        if (c == '\\') escaped();
        else if (c == '"') state = kNormal;
        break;
      case kLiteral:
        if (c == '\'') state = kNormal;
        break;
      case kMultiBasic:
        if (c == '\\') escaped();
        else if (starts("\"\"\"")) state = kNormal, skip(2);
        break;
      case kMultiLiteral:
        if (starts("'''")) state = kNormal, skip(2);
        break;
      case kComment:
        break;
    }
  }
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
  check_where_non_ascii_is(text, path);
  toml::table table;
  try {
    table = toml::parse(text, path);
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
