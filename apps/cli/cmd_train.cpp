#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "commands.hpp"
#include "model_flags.hpp"
#include "prep_flags.hpp"
#include "distributed_run.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/io/database.hpp"
#include "reckon/io/http_client.hpp"
#include "reckon/models/model.hpp"

namespace reckon::cli {
namespace {

struct TrainFlags {
  std::string source, model, output;
  std::vector<std::string> params;
  std::uint64_t seed = 42;
  int threads = 0;
  std::string events, event_weights;
  ImportFlags import_flags;
  PrepFlags prep_flags;
};

void add_common(CLI::App* cmd, TrainFlags& f) {
  cmd->add_option("-p,--param", f.params, "model parameter KEY=VALUE (repeatable)");
  cmd->add_option("--seed", f.seed, "random seed")->capture_default_str();
  cmd->add_option(
      "--threads", f.threads,
      "threads: the whole budget, BLAS and Eigen included (0: the CPUs this process may use)");
  cmd->add_option("--events", f.events,
                  "merge a served event store (the .events.db file reckon serve writes, or its "
                  "postgresql:// URL) into the data, weighted as the server weighs them");
  cmd->add_option("--event-weights", f.event_weights,
                  "type=weight,...,*=default over the server's default table (give the server's "
                  "--event-weights)");
  add_import_flags(cmd, f.import_flags);
  add_prep_flags(cmd, f.prep_flags);
}

// The training data: DATA, plus the served events when given, then filters and weights.
std::shared_ptr<const Dataset> training_data(const TrainFlags& f) {
  Dataset d = read_data(f.source, f.import_flags);
  if (!f.events.empty()) {
    const EventWeights w =
        f.event_weights.empty() ? EventWeights() : EventWeights::parse(f.event_weights);
    MergeStats st;
    d = merge_events(d, f.events, w, &st);
    spdlog::info(
        "events: {} read; {} user-item pairs added, {} removed (net negative), {} already in the "
        "data; {} new users, {} new items",
        st.events, st.added, st.removed, st.kept, st.new_users, st.new_items);
  }
  return std::make_shared<const Dataset>(apply_prep(std::move(d), f.prep_flags));
}

TrainedModel fit(const TrainFlags& f, const std::map<std::string, std::string>& params,
                 std::shared_ptr<const Dataset> data) {
  FitContext ctx;
  ctx.seed = f.seed;
  ctx.threads = set_thread_budget(f.threads);
  return train_model(f.model, std::move(data), params, ctx);
}

void print_written(const std::string& output, const TrainedModel& t) {
  fmt::print("wrote {}: {} fitted in {:.2f} s on {} users, {} items, {} interactions\n", output,
             t.model->name(), t.fit_seconds, t.train->num_users(), t.train->num_items(),
             t.train->num_interactions());
}

// mpirun -np N reckon train ... --distributed: every rank reads the data and fits its share;
// rank 0 writes the model.
void train_distributed(const TrainFlags& f, const std::map<std::string, std::string>& params) {
  RECKON_CHECK(f.model == "ials",
               "train --distributed: only ials trains across processes today, not {}", f.model);
  run_distributed([&](Communicator& comm) {
    TrainedModel t = fit(f, params, training_data(f));
    if (comm.rank() != 0) return;
    save_model_file(t, f.output);
    print_written(f.output, t);
    fmt::print("distributed over {} processes: {:.2f} s of the fit exchanging factors (rank 0)\n",
               comm.size(), comm.seconds_communicating());
  });
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "fit one model and write it to a .rkm file");
  static TrainFlags f;
  static bool list = false, distributed_run = false;
  cmd->add_option("DATA", f.source, "a .rkd file, a raw source, a database or a known dataset");
  cmd->add_option("--model", f.model, "model name (see --list)");
  cmd->add_option("-o,--output", f.output, "the .rkm file to write");
  cmd->add_flag("--list", list, "list the models and exit");
  cmd->add_flag("--distributed", distributed_run,
                "train across the processes of an MPI job (mpirun -np N reckon train ... "
                "--distributed; ials): each rank solves its share, rank 0 writes the model");
  add_common(cmd, f);
  // `reckon train --model NAME --help` shows that model's parameters.
  cmd->footer([] {
    if (f.model.empty()) {
      std::string out = "Models (reckon train --model NAME --help for parameters):\n";
      for (const auto& m : registered_models())
        out += fmt::format("  {:<12} {}\n", m.name, m.summary);
      return out;
    }
    try {
      const auto& m = find_model(f.model);
      return fmt::format("Parameters of {} ({}):\n{}", m.name, m.summary,
                         describe_params(m.params));
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  });
  cmd->callback([] {
    if (list) {
      for (const auto& m : registered_models()) fmt::print("{:<12} {}\n", m.name, m.summary);
      return;
    }
    RECKON_CHECK(!f.source.empty(), "train: give the DATA to train on");
    RECKON_CHECK(!f.model.empty(), "train: give --model NAME (see reckon train --list)");
    RECKON_CHECK(!f.output.empty(), "train: give -o MODEL.rkm");
    find_model(f.model);
    const auto parsed = parse_model_params(f.params, {f.model});
    auto it = parsed.find(f.model);
    const auto params = it == parsed.end() ? std::map<std::string, std::string>{} : it->second;
    if (distributed_run) return train_distributed(f, params);
    TrainedModel t = fit(f, params, training_data(f));
    save_model_file(t, f.output);
    print_written(f.output, t);
  });
}

void add_retrain_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "retrain",
      "fit the model a .rkm file holds again, with its parameters, on DATA plus the served "
      "events; replace the file atomically and ask the server to reload it");
  static TrainFlags f;
  static std::string serve_url, api_key;
  cmd->add_option("MODEL", f.output, "the served .rkm file (read for its model and parameters, "
                                     "then replaced)")
      ->required();
  cmd->add_option("--data", f.source, "the base data (.rkd, raw source or database)")->required();
  cmd->add_option("--serve-url", serve_url,
                  "the server to reload (http://host:port); without it, only the file is replaced");
  cmd->add_option("--api-key", api_key, "the server's admin key (default: $RECKON_API_KEY)");
  add_common(cmd, f);
  cmd->callback([] {
    TrainedModel old = load_model_file(f.output);
    f.model = std::string(old.model->name());
    std::map<std::string, std::string> params;
    const nlohmann::json saved = old.params.to_json();
    for (const auto& [key, value] : saved.items())
      params[key] = value.is_string() ? value.get<std::string>() : value.dump();
    const ModelParams overrides = parse_model_params(f.params, {f.model});
    if (auto it = overrides.find(f.model); it != overrides.end())
      for (const auto& [key, value] : it->second) params[key] = value;
    old = {};
    spdlog::info("retraining {} with {} parameters", f.model, params.size());
    TrainedModel t = fit(f, params, training_data(f));
    save_model_file(t, f.output);  // temporary file + rename: the server never sees half a file
    print_written(f.output, t);
    if (serve_url.empty()) return;
    std::string key = api_key;
    if (key.empty())
      if (const char* env = std::getenv("RECKON_API_KEY")) key = env;
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (!key.empty()) headers.push_back("Authorization: Bearer " + key);
    std::string url = serve_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    const HttpReply r = http_request("POST", url + "/admin/reload", "{}", headers, 600);
    RECKON_CHECK(r.status == 200, "{}/admin/reload answered {}: {}", url, r.status,
                 r.body.substr(0, 300));
    fmt::print("{} reloaded: {}\n", url, r.body);
  });
}

}  // namespace reckon::cli
