#include <fmt/format.h>

#include "commands.hpp"
#include "prep_flags.hpp"
#include "summary.hpp"

namespace reckon::cli {

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "summary of a dataset (.rkd or raw source)");
  static std::string source;
  static ImportFlags import_flags;
  static bool json = false;
  cmd->add_option("DATA", source, "a .rkd file, a raw source or a known dataset name")->required();
  cmd->add_flag("--json", json, "print the summary as JSON");
  add_import_flags(cmd, import_flags);
  cmd->callback([] {
    const auto summary = dataset_summary(read_data(source, import_flags));
    if (json) {
      fmt::print("{}\n", summary.dump(2));
    } else {
      print_summary(summary);
    }
  });
}

}  // namespace reckon::cli
