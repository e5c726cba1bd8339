#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/http_client.hpp"

namespace reckon::cli {

void add_data_command(CLI::App& app) {
  auto* data = app.add_subcommand("data", "known public datasets: list, fetch");
  data->require_subcommand(1);

  auto* list = data->add_subcommand("list", "the known datasets, their sources and where they are");
  list->callback([] {
    fmt::print("data directory: {}\n\n", data_dir().string());
    for (const auto& d : known_datasets()) {
      const auto local = local_path(d);
      fmt::print("{:<16} {}\n", d.name, d.description);
      fmt::print("{:<16} format {}; {}\n", "", d.format, d.terms);
      for (const auto& f : d.files)
        fmt::print("{:<16} {}  {}\n", "", f.url,
                   f.digest.empty() ? "(no published checksum)" : f.digest);
      fmt::print(
          "{:<16} {}\n\n", "",
          local ? "present: " + local->string() : "not present: reckon data fetch " + d.name);
    }
  });

  auto* fetch = data->add_subcommand(
      "fetch", "download a known dataset and verify its checksum, or any http(s) URL");
  static std::string name, sha256, output;
  static FetchOptions options;
  fetch->add_option("NAME", name, "dataset name (see reckon data list), or an http(s) URL")
      ->required();
  fetch->add_option("--sha256", sha256, "URL: the file's expected SHA-256 (hex); not kept otherwise");
  fetch->add_option("-o,--output", output,
                    "URL: the file or folder to write (default: DATA_DIR/downloads/)");
  fetch->add_flag("--allow-unverified", options.allow_unverified,
                  "accept files that have no published checksum");
  fetch->add_flag("--force", options.force, "download again even when present");
  fetch->callback([] {
    if (is_http_url(name)) {
      std::filesystem::path dest = output;
      if (dest.empty()) {
        dest = data_dir() / "downloads";
        std::filesystem::create_directories(dest);
      }
      const auto path = fetch_url(name, dest, sha256);
      fmt::print("{}  sha256:{}\n", path.string(), file_digest(path, "sha256"));
      return;
    }
    RECKON_CHECK(sha256.empty() && output.empty(),
                 "--sha256 and -o go with a URL; known datasets carry their own checksums");
    const auto& d = find_known_dataset(name);
    if (auto local = local_path(d); local && !options.force) {
      fmt::print("{} is already present at {}\n", d.name, local->string());
      return;
    }
    const auto path = fetch_dataset(d, options);
    fmt::print("{} is ready at {}\n", d.name, path.string());
  });
}

}  // namespace reckon::cli
