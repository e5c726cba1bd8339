#include "prep_flags.hpp"

#include <spdlog/spdlog.h>

#include "reckon/core/error.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/database.hpp"
#include "reckon/io/http_client.hpp"

#include <unistd.h>
#include <filesystem>

namespace reckon::cli {

ImportOptions ImportFlags::resolve() const {
  ImportOptions o = options;
  o.format = parse_import_format(format);
  if (header != 0) o.header = header > 0;
  if (max_memory_mb > 0) o.max_memory = static_cast<std::size_t>(max_memory_mb * 1048576.0);
  if (dedup == "last")
    o.dedup = DedupPolicy::kLast;
  else if (dedup == "first")
    o.dedup = DedupPolicy::kFirst;
  else if (dedup == "sum")
    o.dedup = DedupPolicy::kSum;
  else if (dedup == "max")
    o.dedup = DedupPolicy::kMax;
  else
    throw InvalidInput(
        fmt::format("--dedup: unknown policy \"{}\" (known: last, first, sum, max)", dedup));
  return o;
}

void add_import_flags(CLI::App* cmd, ImportFlags& f) {
  auto& o = f.options;
  cmd->add_option("--format", f.format,
                  "auto, movielens, csv, tsv, jsonl, lightgcn, goodbooks, rkd")
      ->capture_default_str();
  cmd->add_option("--user-col", o.user_col, "user column: header name or 1-based position");
  cmd->add_option("--item-col", o.item_col, "item column: header name or 1-based position");
  cmd->add_option("--rating-col", o.rating_col, "rating/weight column (none: implicit 1s)");
  cmd->add_option("--time-col", o.time_col, "time column: unix seconds or ISO 8601");
  cmd->add_option("--session-col", o.session_col,
                  "session column of a click log, used as the user");
  cmd->add_option("--sep", o.sep, "field separator, e.g. ',', ';', '\\t', '::' (default: guess)");
  cmd->add_flag("--header,!--no-header", f.header,
                "the first line names the columns (default: detect)");
  cmd->add_option("--items", o.items, "item metadata file (CSV/TSV/JSONL with an id column)");
  cmd->add_option("--users", o.users, "user features file (CSV/TSV/JSONL with an id column)");
  cmd->add_option("--item-vectors", o.item_vectors,
                  "item embeddings: lines of an id and its floats, or a .npy array with its row ids in "
                  "FILE.ids (an \"embedding\" vector column)");
  cmd->add_option("--items-id-col", o.items_id_col,
                  "the --items file's id column: header name, JSON key or 1-based position "
                  "(default: id, item_id, movieId, book_id, ...)");
  cmd->add_option("--users-id-col", o.users_id_col,
                  "the --users file's id column: header name, JSON key or 1-based position");
  cmd->add_option("--query", o.query,
                  "databases (sqlite:///file.db, postgresql://...): the SELECT whose rows are the "
                  "interactions; columns mapped like a CSV header");
  cmd->add_option("--table", o.table, "databases: read this table whole ([schema.]name)");
  cmd->add_option("--dedup", f.dedup, "repeated user-item pairs: last, first, sum, max")
      ->capture_default_str();
  cmd->add_flag("--implicit", o.implicit, "ignore ratings: every interaction weighs 1");
  cmd->add_flag("--keep-repeats", o.keep_repeats,
                "also keep every row as an event, in time order with its repeats, for the "
                "sequence models (sasrec, gru4rec) and the splits (last: the last event)");
  cmd->add_option("--name", o.name, "dataset name (default: from the source)");
  cmd->add_option("--max-memory", f.max_memory_mb,
                  "memory budget of the import in MB (default: half of this machine's memory)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--sort-rows", o.spill_rows,
                  "rows held in memory before they are sorted into a run in a temporary file "
                  "(TMPDIR) and merged at the end; 0: hold every row")
      ->capture_default_str();
}

void add_prep_flags(CLI::App* cmd, PrepFlags& f) {
  cmd->add_option("--min-user", f.filters.min_user_interactions,
                  "drop users with fewer interactions");
  cmd->add_option("--min-item", f.filters.min_item_interactions,
                  "drop items with fewer interactions");
  cmd->add_option("--kcore", f.filters.kcore,
                  "repeat until every user and item has at least this many interactions");
  cmd->add_option("--min-rating", f.min_rating, "drop interactions rated below this");
  cmd->add_option("--weight", f.weight,
                  "binary, rating, confidence[:alpha], log[:eps], bm25[:k1,b], tfidf");
  cmd->add_option("--half-life", f.half_life_days,
                  "exponential time decay of weights, half-life in days");
}

Dataset apply_prep(Dataset d, const PrepFlags& f) {
  FilterOptions filters = f.filters;
  filters.min_rating = f.min_rating;
  if (filters.active()) {
    const auto before_users = d.num_users(), before_items = d.num_items();
    const auto before = d.num_interactions();
    d = apply_filters(d, filters);
    spdlog::info("filters kept {} of {} users, {} of {} items, {} of {} interactions",
                 d.num_users(), before_users, d.num_items(), before_items, d.num_interactions(),
                 before);
  }
  WeightOptions w;
  if (!f.weight.empty()) w = parse_weight_scheme(f.weight);
  if (f.half_life_days > 0) w.half_life_days = f.half_life_days;
  RECKON_CHECK(f.half_life_days >= 0, "--half-life must be positive, got {}", f.half_life_days);
  if (w.active()) {
    d = apply_weights(d, w);
    spdlog::info("weights: {}", describe(w));
  }
  return d;
}

Dataset read_data(const std::string& source, const ImportFlags& flags) {
  if (is_database_url(source)) return import_dataset(source, flags.resolve());
  if (is_http_url(source)) {
    // Streamed to a temporary file (named as the URL names it, so that .csv.gz or .jsonl tell
    // the format), imported, removed.
    const ImportOptions o = flags.resolve();
    std::error_code ec;
    const auto dir = std::filesystem::temp_directory_path(ec) /
                     fmt::format("reckon-download-{}", ::getpid());
    std::filesystem::create_directories(dir);
    struct Cleanup {
      std::filesystem::path dir;
      ~Cleanup() {
        std::error_code e;
        std::filesystem::remove_all(dir, e);
      }
    } cleanup{dir};
    const auto file = fetch_url(source, dir);
    ImportOptions named = o;
    if (named.name.empty()) named.name = file.stem().string();
    return import_dataset(file, named);
  }
  return import_dataset(resolve_data_source(source), flags.resolve());
}

}  // namespace reckon::cli
