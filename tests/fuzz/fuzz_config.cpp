// The config file of `reckon serve --config` (toml++ and our key mapping) against a command with
// options of every kind serve has: every input must end in a value applied or an InvalidInput /
// IoError that names the file, never a crash, a hang or another exception.
#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "../../apps/cli/config_file.hpp"
#include "fuzz_support.hpp"
#include "reckon/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = reckon::fuzz::write_input(
      "reckon.toml", std::string_view(reinterpret_cast<const char*>(data), size));
  CLI::App app("fuzz");
  std::string model, host = "127.0.0.1", config;
  std::uint16_t port = 8080;
  std::size_t max_k = 100;
  double ttl = -1;
  int threads = 0;
  bool flag = false;
  std::vector<std::string> keys;
  app.add_option("--model", model);
  app.add_option("--host", host);
  app.add_option("--port", port);
  app.add_option("--max-k", max_k)->check(CLI::Range(1, 10000));
  app.add_option("--events-cache-ttl", ttl);
  app.add_option("--threads", threads);
  app.add_option("--api-key", keys)->allow_extra_args(false);
  app.add_option("--config", config);
  app.add_flag("--no-precompute", flag);
  try {
    app.parse(std::vector<std::string>{});
    reckon::cli::apply_config_file(&app, path.string(), {"config"});
  } catch (const reckon::InvalidInput& e) {
    if (std::string(e.what()).find(path.string()) == std::string::npos) std::abort();
  } catch (const reckon::IoError&) {
  }
  return 0;
}
