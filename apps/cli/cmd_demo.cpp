#include <fmt/format.h>

#include <chrono>

#include "commands.hpp"
#include "prep_flags.hpp"
#include "reckon/core/error.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/eval/report.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/prep/split.hpp"
#include "reckon/retrieval/recommender.hpp"
#include "summary.hpp"

namespace reckon::cli {

void add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "the main job end to end on MovieLens-100K");
  static std::string models = "popular,random";
  cmd->add_option("--models", models, "models to train and compare")->capture_default_str();
  cmd->callback([] {
    using clock = std::chrono::steady_clock;
    const auto& known = find_known_dataset("movielens-100k");
    const auto dir = local_path(known);
    RECKON_CHECK(dir.has_value(),
                 "MovieLens-100K is not in {}; run: reckon data fetch movielens-100k",
                 data_dir().string());
    fmt::print("== 1. import {}\n", dir->string());
    auto t0 = clock::now();
    Dataset d = import_dataset(*dir, {});
    const double import_s = std::chrono::duration<double>(clock::now() - t0).count();
    print_summary(dataset_summary(d));
    fmt::print("imported in {:.3f} s\n\n", import_s);

    SplitOptions so;
    so.kind = SplitKind::kUserTime;
    so.test_fraction = 0.2;
    Split s = split_dataset(d, so);
    fmt::print("== 2. split: the latest 20% of each user's ratings are the test set (seed {})\n",
               so.seed);
    fmt::print("train {} interactions, test {} interactions\n\n", s.train.num_interactions(),
               s.test.nnz());

    fmt::print("== 3. train and evaluate (full ranking over all unseen items)\n");
    auto train = std::make_shared<const Dataset>(std::move(s.train));
    EvalOptions eo;
    eo.ks = {10};
    eo.progress = false;
    Report report;
    report.dataset = {{"name", train->name},
                      {"users", train->num_users()},
                      {"items", train->num_items()},
                      {"train_interactions", train->num_interactions()},
                      {"test_interactions", s.test.nnz()}};
    report.protocol = {
        {"split", "time"}, {"k", eo.ks}, {"candidates", candidates_label(eo)}, {"seed", so.seed}};
    std::vector<TrainedModel> trained;
    std::vector<std::string_view> names;
    std::string list = models;
    for (std::size_t pos = 0; pos <= list.size();) {
      const auto comma = list.find(',', pos);
      const std::string name =
          list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      pos = comma == std::string::npos ? list.size() + 1 : comma + 1;
      if (name.empty()) continue;
      FitContext ctx;
      TrainedModel t = train_model(name, train, {}, ctx);
      EvalResult r = evaluate(*t.model, *train, s.test, CsrMatrix(), eo);
      report.models.push_back(
          {name, t.params.to_json(), t.fit_seconds, r.seconds, peak_rss_mb(), r.users, r.metrics});
      trained.push_back(std::move(t));
    }
    fmt::print("{}\n", to_console(report));

    fmt::print("== 4. recommendations for user 1 from {}\n", report.models.front().name);
    const Recommender rec(trained.front());
    const auto r = rec.for_user("1", 5);
    const FeatureColumn* title = train->item_features.find("title");
    for (const auto& item : r.items)
      fmt::print("  {:<6} {}\n", train->items.id(item.item), title ? title->text(item.item) : "");
    fmt::print(
        "\nnext:\n  build/reckon evaluate --data movielens-100k --split time --models "
        "popular,random "
        "-k 5,10,20 --svg report.svg\n  build/reckon train movielens-100k --model popular -o m.rkm "
        "&& build/reckon recommend m.rkm --user 1\n");
  });
}

}  // namespace reckon::cli
