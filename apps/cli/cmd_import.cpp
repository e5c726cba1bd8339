#include <fmt/format.h>

#include "commands.hpp"
#include "prep_flags.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/dataset_file.hpp"

namespace reckon::cli {

void add_import_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "import",
      "read raw data (MovieLens, CSV/TSV/JSONL, LightGCN, goodbooks; gzip) into a .rkd file");
  static std::string source;
  static std::filesystem::path output;
  static ImportFlags import_flags;
  static PrepFlags prep_flags;
  cmd->add_option("SOURCE", source, "a file, a directory or a known dataset name")->required();
  cmd->add_option("-o,--output", output, "the .rkd file to write")->required();
  add_import_flags(cmd, import_flags);
  add_prep_flags(cmd, prep_flags);
  cmd->callback([] {
    Dataset d = apply_prep(read_data(source, import_flags), prep_flags);
    save_dataset(d, output);
    fmt::print("wrote {}: {} users, {} items, {} interactions\n", output.string(), d.num_users(),
               d.num_items(), d.num_interactions());
  });
}

}  // namespace reckon::cli
