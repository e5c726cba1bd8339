#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "commands.hpp"
#include "config_file.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/io/text.hpp"
#include "reckon/retrieval/ann_options.hpp"
#include "reckon/serve/http_server.hpp"
#include "reckon/serve/service.hpp"
#include "serve_run.hpp"

namespace reckon::cli {

std::string default_events_location(const std::filesystem::path& model) {
  auto p = model;
  p.replace_extension(".events.db");
  return p.string();
}

namespace {

std::shared_ptr<spdlog::logger> make_access_log(const std::string& where) {
  if (where == "off" || where.empty()) return nullptr;
  // Asynchronous: the I/O threads hand the line over and go on; a background thread writes.
  if (!spdlog::thread_pool()) spdlog::init_thread_pool(1 << 14, 1);
  std::shared_ptr<spdlog::logger> log;
  if (where == "-")
    log = spdlog::create_async<spdlog::sinks::stdout_sink_mt>("access");
  else
    log = spdlog::create_async<spdlog::sinks::basic_file_sink_mt>("access", where);
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %v");
  log->flush_on(spdlog::level::err);
  return log;
}

}  // namespace

void serve_model(const ServeSettings& s, const std::function<void(std::uint16_t port)>& on_ready) {
  ServiceOptions so;
  so.model_file = s.model;
  so.reports_dir = !s.reports.empty() ? s.reports
                   : s.model.has_parent_path() ? s.model.parent_path()
                                               : std::filesystem::path(".");
  so.snapshot.max_k = s.max_k;
  so.snapshot.precompute_offline = !s.no_precompute;
  so.snapshot.ann.mode = parse_ann_mode(s.ann);
  so.snapshot.ann.min_items = s.ann_min_items;
  so.snapshot.ann.nlist = s.ann_nlist;
  so.snapshot.ann.nprobe = s.ann_nprobe;
  so.keep_online_lists = !s.recompute_online;
  so.default_k = std::min<std::size_t>(10, s.max_k);
  so.keys.admin = collect_keys(s.api_keys, s.api_key_file, "RECKON_API_KEY");
  so.keys.read = collect_keys(s.read_keys, s.read_key_file, "RECKON_READ_KEY");
  if (!s.event_weights.empty()) so.event_weights = EventWeights::parse(s.event_weights);
  so.events_cache_bytes = static_cast<std::size_t>(std::max(1.0, s.events_cache_mb) * 1048576.0);
  so.max_item_bytes = s.max_item_bytes;
  so.max_new_items = s.max_new_items;
  if (!s.events_retention.empty()) {
    const auto seconds = parse_duration(s.events_retention);
    RECKON_CHECK(seconds && *seconds >= 60 && *seconds <= 1e9,
                 "serve: --events-retention takes a duration of a minute or more (90d, 12h, 30m), "
                 "got \"{}\"",
                 s.events_retention);
    so.events_retention_ms = static_cast<std::int64_t>(*seconds * 1000);
  }
  const std::string events = s.events.empty() ? default_events_location(s.model) : s.events;
  if (s.events_cache_ttl >= -0.5)
    so.events_cache_ttl_seconds = s.events_cache_ttl;
  else if (events.starts_with("postgres"))
    so.events_cache_ttl_seconds = 1.0;  // other servers write to the same database
  if (events.starts_with("postgres")) so.items_refresh_seconds = 2.0;
  RECKON_CHECK(s.watch_model == 0 || (s.watch_model >= 0.1 && s.watch_model <= 86400),
               "serve: --watch-model takes seconds from 0.1 to 86400 (0: off), got {}",
               s.watch_model);
  so.watch_model_seconds = s.watch_model;
  Service service(so, open_event_store(events));
  const auto snap = service.snapshot();

  ServerOptions o;
  o.host = s.host;
  o.port = s.port;
  o.threads = s.threads;
  o.body_limit = s.body_limit;
  o.read_timeout = std::chrono::milliseconds(s.read_timeout_ms);
  o.header_timeout = std::chrono::milliseconds(std::min(s.header_timeout_ms, s.read_timeout_ms));
  o.max_connections_per_client = s.max_connections_per_client;
  o.access_log = make_access_log(s.access_log);
  HttpServer server(service, o);
  fmt::print(
      "reckon serve: model {} ({}), {} users, {} items, {} search; events in {} ({} stored)\n"
      "listening on http://{}:{} with {} I/O threads; SIGHUP or POST /admin/reload reloads, "
      "SIGTERM stops\n",
      snap->model().name(), snap->version(), snap->train().num_users(), snap->train().num_items(),
      snap->retrieval(), service.store().describe(), service.store().count(), s.host, server.port(),
      o.threads > 0 ? o.threads : default_threads());
  if (so.keys.writes_open())
    fmt::print(
        "reckon serve: no API key: writes (events, item edits, reload) are open to anyone on "
        "this machine and refused from elsewhere; set --api-key, --api-key-file or "
        "RECKON_API_KEY to require one\n");
  else
    fmt::print("reckon serve: writes need the admin key ({} configured){}\n", so.keys.admin.size(),
               so.keys.read.empty() ? "; reads are open" : "; reads need a read key");
  fmt::print("reckon serve: event weights {}\n", so.event_weights.describe());
  if (on_ready) on_ready(server.port());
  std::fflush(stdout);
  server.run(/*handle_signals=*/true);
  service.close();  // pending events committed before the server's connections go
  if (o.access_log) o.access_log->flush();
  fmt::print("reckon serve: stopped; {} events stored by this run\n",
             service.metrics().events_stored());
  std::fflush(stdout);
}

void add_serve_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("serve", "serve recommendations over HTTP (see docs/openapi.yaml)");
  static ServeSettings s;
  static std::string config;
  cmd->add_option("--config", config,
                  "a TOML file whose keys are these flags (model = \"m.rkm\", port = 8080, ...); "
                  "flags given here win; see docs/reckon.toml");
  cmd->add_option("--model", s.model, "a model file from reckon train (.rkm)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", s.host, "address to listen on (0.0.0.0: every interface)")
      ->capture_default_str();
  cmd->add_option("--port", s.port, "TCP port (0: any free port)")->capture_default_str();
  cmd->add_option("--events", s.events,
                  "event store: an SQLite file or a postgresql:// URL (default: MODEL.events.db "
                  "beside the model)");
  cmd->add_option("--reports", s.reports,
                  "a folder of evaluation and tuning reports (reckon evaluate/tune --json) that "
                  "the dashboard shows (default: the model's folder)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--threads", s.threads, "I/O threads (0: one per core)")->capture_default_str();
  cmd->add_option("--max-k", s.max_k, "the largest k a request may ask for")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--body-limit", s.body_limit, "largest request body in bytes")
      ->capture_default_str();
  cmd->add_option("--read-timeout-ms", s.read_timeout_ms,
                  "time a client has to send a request (and an idle keep-alive lasts)")
      ->capture_default_str();
  cmd->add_option("--access-log", s.access_log, "access log: - (stdout), a file, or off")
      ->capture_default_str();
  cmd->add_option("--events-cache-ttl", s.events_cache_ttl,
                  "seconds a user's events stay cached (default: forever for SQLite, 1 for "
                  "PostgreSQL where other servers write too)");
  cmd->add_option("--header-timeout-ms", s.header_timeout_ms,
                  "time a client has to send a request's headers (and an idle keep-alive lasts)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-connections-per-client", s.max_connections_per_client,
                  "open connections one address may hold (more get 429)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--api-key", s.api_keys,
                  "admin key required by writes (events, item edits, reload); repeatable; "
                  "also RECKON_API_KEY")
      ->allow_extra_args(false);
  cmd->add_option("--api-key-file", s.api_key_file, "file of admin keys, one a line")
      ->check(CLI::ExistingFile);
  cmd->add_option("--read-key", s.read_keys,
                  "key required by read routes (the admin key works too); also RECKON_READ_KEY")
      ->allow_extra_args(false);
  cmd->add_option("--read-key-file", s.read_key_file, "file of read keys, one a line")
      ->check(CLI::ExistingFile);
  cmd->add_option("--event-weights", s.event_weights,
                  "what event types mean for online answers, over the defaults: e.g. "
                  "\"view=1,like=2,dislike=-2,*=1\" (negative: against the item)");
  cmd->add_option("--events-cache-mb", s.events_cache_mb,
                  "memory for the per-user events cache (least recently used go first)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-item-bytes", s.max_item_bytes, "largest item metadata (PUT/PATCH body)")
      ->capture_default_str();
  cmd->add_option("--max-new-items", s.max_new_items,
                  "items unknown to the model that PUT /items may add")
      ->capture_default_str();
  cmd->add_option("--events-retention", s.events_retention,
                  "delete events older than this (90d, 12h, 30m) in the background, checked "
                  "hourly; default: keep every event");
  cmd->add_option("--watch-model", s.watch_model,
                  "check the model file every so many seconds and reload it when it changed "
                  "(replicas serving one published file; 0: reload only on SIGHUP or POST "
                  "/admin/reload)")
      ->capture_default_str();
  cmd->add_option("--ann", s.ann,
                  "approximate search of factor models (ials, bpr, mf, lightgcn): off (exact), "
                  "auto (from --ann-min-items items on) or on; the index is built at load")
      ->capture_default_str();
  cmd->add_option("--ann-min-items", s.ann_min_items,
                  "--ann auto: the catalogue size from which the search is approximate")
      ->capture_default_str();
  cmd->add_option("--ann-nlist", s.ann_nlist,
                  "inverted lists of the approximate index (0: 2 sqrt(items))")
      ->capture_default_str();
  cmd->add_option("--ann-nprobe", s.ann_nprobe,
                  "lists scanned per query (0: nlist / 32, at least 16)")
      ->capture_default_str();
  cmd->add_flag("--no-precompute", s.no_precompute,
                "compute offline lists per request instead of once per model in the background");
  cmd->add_flag("--recompute-online", s.recompute_online,
                "compute online lists on every request instead of keeping each user's until "
                "their next event (to measure the fold-in)");
  cmd->callback([cmd] {
    if (!config.empty()) apply_config_file(cmd, config, {"config"});
    RECKON_CHECK(!s.model.empty(), "serve: give --model FILE.rkm (or model = \"...\" in --config)");
    serve_model(s, nullptr);
  });
}

}  // namespace reckon::cli
