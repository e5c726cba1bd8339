#pragma once
// A command's flags from a TOML file (reckon serve --config reckon.toml): every long flag is a
// key (dashes or underscores), flags given on the command line win, an unknown key or a value
// of the wrong kind is an error naming the file, the line and the key.
#include <CLI/CLI.hpp>
#include <set>
#include <string>

namespace reckon::cli {

// Applies `path` to the options of `cmd` not given on its command line, after parsing, and
// runs their callbacks (so validators run too). Keys in `skip` are refused (e.g. "config").
void apply_config_file(CLI::App* cmd, const std::string& path, const std::set<std::string>& skip);

}  // namespace reckon::cli
