#include <fmt/format.h>

#include <chrono>

#include "commands.hpp"
#include "model_flags.hpp"
#include "prep_flags.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/files.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/eval/report.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/prep/split.hpp"
#include "reckon/retrieval/recommender.hpp"
#include "serve_run.hpp"
#include "summary.hpp"

namespace reckon::cli {

void add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "the main job end to end on MovieLens-100K");
  static std::string models = "popular,itemknn,ials,ease";
  static bool no_serve = false;
  static std::uint16_t port = 8080;
  static std::filesystem::path demo_dir = "reckon-demo";
  cmd->add_option("--models", models, "models to train and compare")->capture_default_str();
  cmd->add_flag("--no-serve", no_serve, "stop after the evaluation (do not start the server)");
  cmd->add_option("--port", port, "port of the demo server")->capture_default_str();
  cmd->add_option("--dir", demo_dir, "where the demo keeps its model and event store")
      ->capture_default_str();
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
    report.dataset = describe_dataset(train->name, train->num_users(), train->num_items(),
                                      train->num_interactions(), s.test.nnz());
    report.protocol = {
        {"split", "time"}, {"k", eo.ks}, {"candidates", candidates_label(eo)}, {"seed", so.seed}};
    std::vector<TrainedModel> trained;
    for (const auto& name : split_list(models)) {
      FitContext ctx;
      TrainedModel t = train_model(name, train, {}, ctx);
      EvalResult r = evaluate(*t.model, *train, s.test, CsrMatrix(), eo);
      report.models.push_back(
          {name, t.params.to_json(), t.fit_seconds, r.seconds, peak_rss_mb(), r.users, r.metrics});
      trained.push_back(std::move(t));
    }
    fmt::print("{}\n", to_console(report));

    // Recommendations from the model with the best NDCG.
    std::size_t best = 0;
    for (std::size_t m = 1; m < report.models.size(); ++m)
      if (report.models[m].metrics.at("ndcg@10") > report.models[best].metrics.at("ndcg@10")) best = m;
    fmt::print("== 4. recommendations for user 1 from {} (best ndcg@10)\n", report.models[best].name);
    const Recommender rec(trained[best]);
    const auto r = rec.for_user("1", 5);
    const FeatureColumn* title = train->item_features.find("title");
    for (const auto& item : r.items)
      fmt::print("  {:<6} {}\n", train->items.id(item.item), title ? title->text(item.item) : "");
    fmt::print(
        "\nnext:\n  build/reckon evaluate --data movielens-100k --split time --models "
        "popular,itemknn,ease -k 5,10,20 --svg report.svg\n"
        "  build/reckon train movielens-100k --model ease -o m.rkm && build/reckon recommend "
        "m.rkm --user 1\n  build/reckon serve --model m.rkm\n");
    if (no_serve) return;

    std::filesystem::create_directories(demo_dir);
    const auto model_file = demo_dir / "model.rkm";
    save_model_file(trained[best], model_file);
    // Beside the model, where the dashboard's Evaluation page finds it.
    write_file_atomic(demo_dir / "evaluation.json", to_json(report).dump(2) + "\n");
    fmt::print("\n== 5. serve {} (saved to {})\n", report.models[best].name, model_file.string());
    ServeSettings settings;
    settings.model = model_file;
    settings.port = port;
    settings.access_log = "off";
    serve_model(settings, [](std::uint16_t bound) {
      const std::string url = fmt::format("http://127.0.0.1:{}", bound);
      fmt::print(
          "open {0}/ in a browser for the dashboard, or try, in another terminal:\n"
          "  curl '{0}/recommend/1?k=5'\n"
          "  curl -X POST {0}/events -H 'Content-Type: application/json' "
          "-d '{{\"user_id\":\"1\",\"item_id\":\"50\",\"type\":\"view\"}}'\n"
          "  curl '{0}/recommend/1?k=5&mode=online'\n"
          "  curl '{0}/similar/50?k=5'   curl {0}/metrics\n"
          "Ctrl-C stops the server.\n",
          url);
    });
  });
}

}  // namespace reckon::cli
