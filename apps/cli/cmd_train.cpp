#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "model_flags.hpp"
#include "prep_flags.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/models/model.hpp"

namespace reckon::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "fit one model and write it to a .rkm file");
  static std::string source, model, output;
  static std::vector<std::string> params;
  static bool list = false;
  static std::uint64_t seed = 42;
  static int threads = 0;
  static ImportFlags import_flags;
  static PrepFlags prep_flags;
  cmd->add_option("DATA", source, "a .rkd file, a raw source or a known dataset name");
  cmd->add_option("--model", model, "model name (see --list)");
  cmd->add_option("-p,--param", params, "model parameter KEY=VALUE (repeatable)");
  cmd->add_option("-o,--output", output, "the .rkm file to write");
  cmd->add_option("--seed", seed, "random seed")->capture_default_str();
  cmd->add_option(
      "--threads", threads,
      "threads: the whole budget, BLAS and Eigen included (0: the CPUs this process may use)");
  cmd->add_flag("--list", list, "list the models and exit");
  add_import_flags(cmd, import_flags);
  add_prep_flags(cmd, prep_flags);
  // `reckon train --model NAME --help` shows that model's parameters.
  cmd->footer([] {
    if (model.empty()) {
      std::string out = "Models (reckon train --model NAME --help for parameters):\n";
      for (const auto& m : registered_models())
        out += fmt::format("  {:<12} {}\n", m.name, m.summary);
      return out;
    }
    try {
      const auto& m = find_model(model);
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
    RECKON_CHECK(!source.empty(), "train: give the DATA to train on");
    RECKON_CHECK(!model.empty(), "train: give --model NAME (see reckon train --list)");
    RECKON_CHECK(!output.empty(), "train: give -o MODEL.rkm");
    find_model(model);
    const auto parsed = parse_model_params(params, {model});
    auto data =
        std::make_shared<const Dataset>(apply_prep(read_data(source, import_flags), prep_flags));
    FitContext ctx;
    ctx.seed = seed;
    ctx.threads = set_thread_budget(threads);
    auto it = parsed.find(model);
    TrainedModel t = train_model(
        model, data, it == parsed.end() ? std::map<std::string, std::string>{} : it->second, ctx);
    save_model_file(t, output);
    fmt::print("wrote {}: {} fitted in {:.2f} s on {} users, {} items, {} interactions\n", output,
               model, t.fit_seconds, data->num_users(), data->num_items(),
               data->num_interactions());
  });
}

}  // namespace reckon::cli
