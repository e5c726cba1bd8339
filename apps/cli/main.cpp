// reckon: import, prepare, train, evaluate and serve recommenders.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "provenance.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/files.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/version.hpp"

int main(int argc, char** argv) {
  reckon::cli::set_command_line(argc, argv);
  // .rkd and .rkm files are read in place: a file truncated under a command ends it with a
  // message, not a crash.
  reckon::exit_clearly_on_bus_error();
  auto logger = spdlog::stderr_color_mt("reckon");
  logger->set_pattern("%^[%l]%$ %v");
  spdlog::set_default_logger(logger);

  CLI::App app{
      "reckon: a recommender-system engine. Import interaction data, train and compare "
      "models, serve recommendations."};
  app.set_version_flag("--version", reckon::kVersion);
  app.require_subcommand(1);
  // -q and -v anywhere: `reckon evaluate -q` as well as `reckon -q evaluate`.
  app.fallthrough();
  // The default budget follows the affinity mask and CPU quota; --threads sets it per command.
  reckon::set_thread_budget(0);
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "no progress bars or info logs");
  app.add_flag("-v,--verbose", verbose, "debug logs");
  app.parse_complete_callback([&] {
    if (quiet) {
      spdlog::set_level(spdlog::level::warn);
      reckon::Progress::set_enabled(false);
    }
    if (verbose) spdlog::set_level(spdlog::level::debug);
  });

  reckon::cli::add_data_command(app);
  reckon::cli::add_import_command(app);
  reckon::cli::add_info_command(app);
  reckon::cli::add_split_command(app);
  reckon::cli::add_train_command(app);
  reckon::cli::add_retrain_command(app);
  reckon::cli::add_recommend_command(app);
  reckon::cli::add_interactive_command(app);
  reckon::cli::add_evaluate_command(app);
  reckon::cli::add_tune_command(app);
  reckon::cli::add_export_command(app);
  reckon::cli::add_serve_command(app);
  reckon::cli::add_demo_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const reckon::Error& e) {
    std::fprintf(stderr, "reckon: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "reckon: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reckon: internal error: %s\n", e.what());
    return 70;
  }
  return 0;
}
