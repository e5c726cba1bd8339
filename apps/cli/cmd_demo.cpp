#include <fmt/format.h>

#include <chrono>

#include "commands.hpp"
#include "reckon/core/error.hpp"
#include "prep_flags.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/prep/split.hpp"
#include "summary.hpp"

namespace reckon::cli {

void add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "the main job end to end on MovieLens-100K");
  cmd->callback([] {
    using clock = std::chrono::steady_clock;
    const auto& known = find_known_dataset("movielens-100k");
    const auto dir = local_path(known);
    RECKON_CHECK(dir.has_value(), "MovieLens-100K is not in {}; run: reckon data fetch movielens-100k",
                 data_dir().string());
    fmt::print("== import {}\n", dir->string());
    auto t0 = clock::now();
    Dataset d = import_dataset(*dir, {});
    const double import_s = std::chrono::duration<double>(clock::now() - t0).count();
    print_summary(dataset_summary(d));
    fmt::print("imported in {:.3f} s\n\n", import_s);

    SplitOptions so;
    so.kind = SplitKind::kUserTime;
    so.test_fraction = 0.2;
    Split s = split_dataset(d, so);
    fmt::print("== split: latest 20% of each user's ratings to test (seed {})\n", so.seed);
    fmt::print("train {} interactions, test {} interactions\n\n", s.train.num_interactions(),
               s.test.nnz());
    fmt::print("next: reckon import {} -o ml100k.rkd && reckon info ml100k.rkd\n", dir->string());
  });
}

}  // namespace reckon::cli
