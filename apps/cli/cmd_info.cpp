#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "commands.hpp"
#include "prep_flags.hpp"
#include "reckon/core/files.hpp"
#include "reckon/models/model.hpp"
#include "summary.hpp"

namespace reckon::cli {
namespace {

bool is_model_file(const std::string& source) {
  if (source.size() >= 4 && source.compare(source.size() - 4, 4, ".rkm") == 0) return true;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(source, ec)) return false;
  std::ifstream in(source, std::ios::binary);
  char magic[8] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == 8 && std::string_view(magic, 8) == "RECKONMD";
}

nlohmann::json model_summary(const TrainedModel& t) {
  return {{"model", std::string(t.model->name())},
          {"params", t.params.to_json()},
          {"fit_seconds", t.fit_seconds},
          {"details", t.model->describe()},
          {"data", dataset_summary(*t.train)}};
}

void print_model_summary(const nlohmann::json& s) {
  fmt::print("model: {}\n", s["model"].get<std::string>());
  std::string params;
  for (const auto& [key, value] : s["params"].items())
    params += fmt::format("{}{}={}", params.empty() ? "" : " ", key,
                          value.is_string() ? value.get<std::string>() : value.dump());
  fmt::print("params: {}\n", params.empty() ? "(none)" : params);
  fmt::print("fit: {:.1f} s\n", s["fit_seconds"].get<double>());
  for (const auto& [key, value] : s["details"].items()) {
    if (key == "importance") continue;
    fmt::print("{}: {}\n", key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  if (s["details"].contains("importance")) {
    fmt::print("feature importance (average gain):\n");
    for (const auto& f : s["details"]["importance"])
      fmt::print("  {:<36} {:>12.4f}\n", f["feature"].get<std::string>(), f["gain"].get<double>());
  }
  fmt::print("training data:\n");
  print_summary(s["data"]);
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("info", "summary of a dataset (.rkd or raw source) or a model (.rkm)");
  static std::string source;
  static ImportFlags import_flags;
  static bool json = false;
  cmd->add_option("DATA", source, "a .rkd file, a raw source, a known dataset name or a .rkm model")
      ->required();
  cmd->add_flag("--json", json, "print the summary as JSON");
  add_import_flags(cmd, import_flags);
  cmd->callback([] {
    if (is_model_file(source)) {
      const auto summary = model_summary(load_model_file(source));
      if (json)
        fmt::print("{}\n", summary.dump(2));
      else
        print_model_summary(summary);
      return;
    }
    const auto summary = dataset_summary(read_data(source, import_flags));
    if (json) {
      fmt::print("{}\n", summary.dump(2));
    } else {
      print_summary(summary);
    }
  });
}

}  // namespace reckon::cli
