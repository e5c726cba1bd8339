#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/core/files.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/io/http_client.hpp"
#include "reckon/io/synth.hpp"

namespace reckon::cli {

void add_data_command(CLI::App& app) {
  auto* data = app.add_subcommand("data", "known public datasets: list, fetch; synthetic data");
  data->require_subcommand(1);

  auto* synth = data->add_subcommand(
      "synth", "synthetic interactions for scale tests: power-law users and items, taste groups");
  static SynthOptions so;
  static std::string synth_out;
  static bool synth_features = false;
  synth->add_option("--users", so.users, "users")->capture_default_str();
  synth->add_option("--items", so.items, "items")->capture_default_str();
  synth->add_option("--interactions", so.interactions, "rows (pairs may repeat)")
      ->capture_default_str();
  synth->add_option("--seed", so.seed, "same seed, same file")->capture_default_str();
  synth->add_option("--user-exponent", so.user_exponent,
                    "activity of the user of rank r ~ r^-a (0: uniform)")
      ->capture_default_str();
  synth->add_option("--item-exponent", so.item_exponent, "popularity of the item of rank r ~ r^-a")
      ->capture_default_str();
  synth->add_option("--clusters", so.clusters, "taste groups of users and items")
      ->capture_default_str();
  synth->add_option("--affinity", so.affinity,
                    "share of a user's rows from their own group (the rest by popularity)")
      ->capture_default_str();
  synth->add_flag("--times", so.times, "a timestamp column, rising through the rows");
  synth->add_option("--days", so.days, "the span of the timestamps")->capture_default_str();
  synth->add_flag("--ratings", so.ratings, "a 1-5 rating column");
  synth->add_flag("--features", synth_features,
                  "also write OUT.items.csv (title, genres) and OUT.users.csv (age, gender, "
                  "occupation)");
  synth->add_option("-o,--output", synth_out, "a .csv or .tsv file (written atomically)")
      ->required();
  synth->callback([] {
    const std::filesystem::path out = synth_out;
    const auto ext = out.extension().string();
    RECKON_CHECK(ext == ".csv" || ext == ".tsv",
                 "synth: -o takes a .csv or .tsv file, got \"{}\" (reckon import makes a .rkd of "
                 "it)",
                 synth_out);
    so.separator = ext == ".tsv" ? '\t' : ',';
    check_synth_options(so);
    {
      AtomicFile file(out);
      Progress progress("synth " + out.filename().string(), static_cast<double>(so.interactions),
                        "rows");
      generate_interactions(
          so, [&](std::string_view bytes) { file.write(bytes); },
          [&](std::int64_t rows) { progress.update(static_cast<double>(rows)); });
      progress.finish();
      file.commit();
    }
    std::string also;
    if (synth_features) {
      auto side = [&](const char* what, auto generate) {
        auto p = out;
        p.replace_extension(std::string(".") + what + ".csv");
        AtomicFile file(p);
        generate(so, [&](std::string_view bytes) { file.write(bytes); });
        file.commit();
        also += ", " + p.string();
      };
      side("items", generate_item_features);
      side("users", generate_user_features);
    }
    fmt::print("wrote {}{}: {} interactions of {} users and {} items\n", out.string(), also,
               so.interactions, so.users, so.items);
  });

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
