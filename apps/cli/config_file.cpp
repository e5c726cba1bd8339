#include "config_file.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>

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

}  // namespace

void apply_config_file(CLI::App* cmd, const std::string& path, const std::set<std::string>& skip) {
  toml::table table;
  try {
    table = toml::parse_file(path);
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
