#include "reckon/io/import.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "readers.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/database.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/io/line_reader.hpp"
#include "reckon/io/text.hpp"

namespace reckon {
namespace fs = std::filesystem;

namespace {

struct FormatName {
  ImportFormat format;
  std::string_view name;
};
constexpr FormatName kFormats[] = {
    {ImportFormat::kAuto, "auto"},
    {ImportFormat::kMovieLens, "movielens"},
    {ImportFormat::kCsv, "csv"},
    {ImportFormat::kTsv, "tsv"},
    {ImportFormat::kJsonl, "jsonl"},
    {ImportFormat::kLightGcn, "lightgcn"},
    {ImportFormat::kGoodbooks, "goodbooks"},
    {ImportFormat::kRkd, "rkd"},
};

// File name without a trailing ".gz".
std::string plain_name(const fs::path& p) {
  std::string name = p.filename().string();
  if (name.ends_with(".gz")) name.resize(name.size() - 3);
  return name;
}

bool first_line_is_lightgcn(const fs::path& file) {
  try {
    LineReader in(file);
    std::string_view line;
    if (!in.next(line)) return false;
    std::vector<std::string_view> f;
    split_plain(trim(line), " ", f);
    if (f.size() < 2) return false;
    return std::all_of(f.begin(), f.end(),
                       [](std::string_view x) { return parse_int(x).has_value(); });
  } catch (const Error&) {
    return false;
  }
}

bool first_line_is_json_object(const fs::path& file) {
  try {
    LineReader in(file);
    std::string_view line;
    return in.next(line) && trim(line).starts_with('{');
  } catch (const Error&) {
    return false;
  }
}

fs::path parent_of(const fs::path& file) {
  return file.has_parent_path() ? file.parent_path() : fs::path(".");
}

std::string default_name(const fs::path& source) {
  fs::path p = source;
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    p = fs::weakly_canonical(p, ec);
    return p.filename().string();
  }
  std::string name = plain_name(p);
  if (const auto dot = name.find('.'); dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

// Reads the ratings of `source` (format already resolved) into `b`; returns whether the values
// are explicit ratings and the file that metadata should be found beside.
struct ReadInfo {
  bool explicit_ratings = false;
  fs::path metadata_anchor;
};

ReadInfo read_interactions(const fs::path& source, ImportFormat format, const ImportOptions& o,
                           InteractionBuilder& b) {
  std::error_code ec;
  const bool dir = fs::is_directory(source, ec);
  ReadInfo info;
  switch (format) {
    case ImportFormat::kMovieLens: {
      const fs::path file = dir ? detail::movielens_ratings_file(source) : source;
      detail::read_movielens_ratings(file, b);
      info.explicit_ratings = true;
      info.metadata_anchor = file;
      break;
    }
    case ImportFormat::kLightGcn: {
      fs::path file = source;
      if (dir) {
        file = detail::find_file(source, {"train.txt"});
        RECKON_CHECK(!file.empty(), "{}: not a LightGCN split directory: train.txt is missing",
                     source.string());
      }
      detail::read_lightgcn(file, b);
      break;
    }
    case ImportFormat::kGoodbooks: {
      const fs::path file = dir ? detail::goodbooks_ratings_file(source) : source;
      detail::read_goodbooks_ratings(file, b);
      info.explicit_ratings = true;
      info.metadata_anchor = file;
      break;
    }
    case ImportFormat::kCsv:
    case ImportFormat::kTsv:
      RECKON_CHECK(!dir, "{}: is a directory; --format {} expects a file", source.string(),
                   to_string(format));
      info.explicit_ratings = detail::read_delimited(source, o, format == ImportFormat::kTsv, b);
      break;
    case ImportFormat::kJsonl:
      RECKON_CHECK(!dir, "{}: is a directory; --format jsonl expects a file", source.string());
      info.explicit_ratings = detail::read_jsonl(source, o, b);
      break;
    case ImportFormat::kAuto:
    case ImportFormat::kRkd:
      RECKON_ASSERT(false);
  }
  if (o.implicit) info.explicit_ratings = false;
  return info;
}

void read_format_metadata(ImportFormat format, const ReadInfo& info, Dataset& d) {
  if (format == ImportFormat::kMovieLens) detail::read_movielens_metadata(info.metadata_anchor, d);
  if (format == ImportFormat::kGoodbooks)
    detail::read_goodbooks_metadata(parent_of(info.metadata_anchor), d);
}

void read_option_metadata(const ImportOptions& o, Dataset& d) {
  if (!o.items.empty()) read_metadata(o.items, d.items, d.item_features, o, o.items_id_col);
  if (!o.users.empty()) read_metadata(o.users, d.users, d.user_features, o, o.users_id_col);
  if (!o.item_vectors.empty()) {
    if (o.item_vectors.extension() == ".npy")
      read_npy_item_vectors(o.item_vectors, d.items, d.item_features);
    else
      read_item_vectors(o.item_vectors, d.items, d.item_features);
  }
}

void make_implicit(Dataset& d) {
  d.interactions = d.interactions.with_values(std::vector<float>(d.interactions.nnz(), 1.0f));
  d.explicit_ratings = false;
  const EventLog& e = d.events;
  if (!e.empty())
    d.events = EventLog(e.rows(), e.cols(), e.indptr(), e.items(),
                        std::vector<float>(e.items().size(), 1.0f), e.times(), e.merge());
}

// --keep-repeats needs the rows themselves: a .rkd or event store saved without them has only
// the merged matrix.
void require_events(const Dataset& d, const ImportOptions& o, const std::string& source) {
  RECKON_CHECK(!o.keep_repeats || !d.events.empty(),
               "{}: --keep-repeats needs the source's rows, and this one holds only the merged "
               "interactions; import the original file with --keep-repeats",
               source);
}

// The column options given, as the user typed them, for messages.
std::string column_options(const ImportOptions& o) {
  std::string s;
  auto add = [&](const char* flag, bool given) {
    if (given) s += (s.empty() ? "" : ", ") + std::string(flag);
  };
  add("--user-col", !o.user_col.empty());
  add("--item-col", !o.item_col.empty());
  add("--rating-col", !o.rating_col.empty());
  add("--time-col", !o.time_col.empty());
  add("--session-col", !o.session_col.empty());
  add("--sep", !o.sep.empty());
  add("--header/--no-header", o.header.has_value());
  return s;
}

// The format to read `source` with. Column options only make sense for delimited and JSONL
// files: with them, a .txt of integers ("1 1 5") is read as columns, not as a LightGCN line
// "user item item" (which had made "1 1 5" two interactions and ignored --rating-col), and a
// format with fixed columns refuses them instead of ignoring them.
ImportFormat resolve(const fs::path& source, const ImportOptions& o) {
  const std::string columns = column_options(o);
  ImportFormat f = o.format;
  if (f == ImportFormat::kAuto) {
    f = detect_format(source);
    if (f == ImportFormat::kLightGcn && !columns.empty()) f = ImportFormat::kCsv;
  }
  const bool has_columns =
      f == ImportFormat::kCsv || f == ImportFormat::kTsv || f == ImportFormat::kJsonl;
  RECKON_CHECK(has_columns || columns.empty(),
                     "{}: {} {} to csv, tsv and jsonl files, and this is read as {}, whose "
                     "columns are fixed; pass --format csv (or tsv) to read it as columns",
                     source.string(), columns,
                     columns.find(',') == std::string::npos ? "applies" : "apply", to_string(f));
  return f;
}

}  // namespace

std::string_view to_string(ImportFormat format) {
  for (const auto& f : kFormats)
    if (f.format == format) return f.name;
  return "unknown";
}

ImportFormat parse_import_format(std::string_view name) {
  for (const auto& f : kFormats)
    if (f.name == name) return f.format;
  std::string known;
  for (const auto& f : kFormats) known += (known.empty() ? "" : ", ") + std::string(f.name);
  throw InvalidInput(fmt::format("unknown format \"{}\" (known: {})", name, known));
}

ImportFormat detect_format(const fs::path& source) {
  std::error_code ec;
  if (!fs::exists(source, ec))
    throw IoError(fmt::format("{}: no such file or directory", source.string()));
  if (fs::is_directory(source, ec)) {
    if (!detail::find_file(source, {"u.data", "ratings.dat"}).empty())
      return ImportFormat::kMovieLens;
    if (!detail::find_file(source, {"ratings.csv"}).empty()) {
      if (!detail::find_file(source, {"movies.csv"}).empty()) return ImportFormat::kMovieLens;
      if (!detail::find_file(source, {"books.csv"}).empty()) return ImportFormat::kGoodbooks;
    }
    if (!detail::find_file(source, {"train.txt"}).empty()) return ImportFormat::kLightGcn;
    if (!detail::find_file(source / "kaggle-v1", {"ratings.csv"}).empty())
      return ImportFormat::kGoodbooks;
    throw InvalidInput(fmt::format(
        "{}: cannot tell the format of this directory: expected u.data or ratings.dat "
        "(MovieLens), ratings.csv with movies.csv (MovieLens 20M/25M) or books.csv (goodbooks), "
        "or train.txt (LightGCN split); pass a file and --format",
        source.string()));
  }
  if (is_dataset_file(source)) return ImportFormat::kRkd;
  const std::string name = plain_name(source);
  const fs::path dir = parent_of(source);
  if (name == "u.data" || name.ends_with(".base") || name.ends_with(".test") ||
      (name.starts_with("ratings") && name.ends_with(".dat")))
    return ImportFormat::kMovieLens;
  if (name == "ratings.csv") {
    if (!detail::find_file(dir, {"movies.csv"}).empty()) return ImportFormat::kMovieLens;
    if (!detail::find_file(dir, {"books.csv"}).empty()) return ImportFormat::kGoodbooks;
  }
  if (name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json"))
    return ImportFormat::kJsonl;
  if (name.ends_with(".tsv")) return ImportFormat::kTsv;
  if (name.ends_with(".txt") && first_line_is_lightgcn(source)) return ImportFormat::kLightGcn;
  if (first_line_is_json_object(source)) return ImportFormat::kJsonl;  // e.g. piped JSON lines
  return ImportFormat::kCsv;
}

std::size_t default_import_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  std::size_t total = pages > 0 && page > 0
                          ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page)
                          : std::size_t{8} << 30;
  // A container's limit (cgroup v2) when it is lower than the machine's memory.
  if (std::FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
    unsigned long long limit = 0;
    if (std::fscanf(f, "%llu", &limit) == 1 && limit > 0 && limit < total)
      total = static_cast<std::size_t>(limit);
    std::fclose(f);
  }
  return total / 2;
}

namespace {

std::size_t budget_of(const ImportOptions& o) {
  return o.max_memory ? o.max_memory : default_import_memory();
}

// The event log (--keep-repeats) is made from the rows in input order: they stay in memory.
std::size_t spill_rows_of(const ImportOptions& o) { return o.keep_repeats ? 0 : o.spill_rows; }

// A source that cannot be read twice ("-", a pipe, /dev/stdin, <(...)) copied once into a
// temporary file, removed with this object. Format detection reads the start of a file and
// readers open it again: on a pipe the second open would find it drained.
class Spooled {
 public:
  Spooled(const fs::path& source, std::size_t max_bytes) {
    std::error_code ec;
    const bool stdin_source = source == "-";
    if (!stdin_source) {
      const auto st = fs::status(source, ec);
      if (!fs::exists(st) || fs::is_regular_file(st) || fs::is_directory(st)) return;
    }
    name_ = stdin_source ? "<stdin>" : source.string();
    const int in = stdin_source ? 0 : ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) throw IoError(fmt::format("{}: cannot open: {}", name_, std::strerror(errno)));
    std::string templ = (fs::temp_directory_path(ec) / "reckon-input-XXXXXX").string();
    const int out = ::mkstemp(templ.data());
    if (out < 0) {
      if (!stdin_source) ::close(in);
      throw IoError(
          fmt::format("cannot create a temporary file for {}: {}", name_, std::strerror(errno)));
    }
    path_ = templ;
    std::size_t total = 0;
    std::string buf(1 << 16, '\0');
    std::string error;
    while (error.empty()) {
      const ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) error = fmt::format("{}: read error: {}", name_, std::strerror(errno));
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
      if (total > max_bytes)
        error = fmt::format(
            "{}: more than {} MB arrived through the pipe, the import's budget; "
            "raise --max-memory or import from a file",
            name_, max_bytes >> 20);
      else if (::write(out, buf.data(), static_cast<std::size_t>(n)) != n)
        error =
            fmt::format("{}: cannot spool to {}: {}", name_, path_.string(), std::strerror(errno));
    }
    if (!stdin_source) ::close(in);
    ::close(out);
    if (!error.empty()) {
      fs::remove(path_, ec);
      throw IoError(error);
    }
  }
  ~Spooled() {
    std::error_code ec;
    if (!path_.empty()) fs::remove(path_, ec);
  }
  Spooled(const Spooled&) = delete;
  Spooled& operator=(const Spooled&) = delete;

  bool active() const { return !path_.empty(); }
  const fs::path& path() const { return path_; }
  // Messages name the source the user gave, not the temporary file.
  template <typename E>
  [[noreturn]] void rethrow(const E& e) const {
    std::string what = e.what();
    for (auto at = what.find(path_.string()); at != std::string::npos;
         at = what.find(path_.string(), at + name_.size()))
      what.replace(at, path_.string().size(), name_);
    throw E(what);
  }
  const std::string& name() const { return name_; }

 private:
  fs::path path_;
  std::string name_;
};

Dataset import_file(const fs::path& source, const ImportOptions& o);

// A query or table, or else the event store's events (with the server's default weights).
Dataset import_database(const std::string& source, const ImportOptions& o) {
  Dataset d;
  if (o.query.empty() && o.table.empty()) {
    RECKON_CHECK(is_event_store(source),
                 "{}: give --query \"SELECT ...\" or --table NAME (this database is not a "
                 "reckon event store)",
                 without_password(source));
    ImportOptions named = o;
    if (named.name.empty()) named.name = default_name(fs::path(source).filename());
    d = import_events(source, EventWeights(), named);
    require_events(d, o, without_password(source));
  } else {
    InteractionBuilder b(budget_of(o), spill_rows_of(o));
    const bool rated = detail::read_database(source, o, b);
    RECKON_CHECK(b.size() > 0, "{}: the query returned no rows", without_password(source));
    const std::string name = !o.name.empty()    ? o.name
                             : !o.table.empty() ? o.table
                             : is_database_url(source) && source.starts_with("postgres")
                                 ? std::string("query")
                                 : default_name(fs::path(source).filename());
    d = b.build(o.dedup, name, rated, o.keep_repeats);
  }
  read_option_metadata(o, d);
  if (o.implicit) make_implicit(d);
  d.validate();
  return d;
}

}  // namespace

Dataset import_dataset(const fs::path& source, const ImportOptions& o) {
  const std::string text = source.string();
  if (is_database_source(text)) return import_database(text, o);
  RECKON_CHECK(o.query.empty() && o.table.empty(),
               "{}: --query and --table read databases (sqlite:///file.db, postgresql://...); "
               "this is a file",
               text);
  Spooled spooled(source, budget_of(o) * 4);
  if (!spooled.active()) return import_file(source, o);
  ImportOptions named = o;
  if (named.name.empty()) named.name = source == "-" ? "stdin" : default_name(source);
  try {
    return import_file(spooled.path(), named);
  } catch (const InvalidInput& e) {
    spooled.rethrow(e);
  } catch (const IoError& e) {
    spooled.rethrow(e);
  }
}

namespace {

Dataset import_file(const fs::path& source, const ImportOptions& o) {
  const ImportFormat format = resolve(source, o);
  if (format == ImportFormat::kRkd) {
    Dataset d = load_dataset(source);
    require_events(d, o, source.string());
    read_option_metadata(o, d);
    if (o.implicit) make_implicit(d);
    return d;
  }
  InteractionBuilder b(budget_of(o), spill_rows_of(o));
  const ReadInfo info = read_interactions(source, format, o, b);
  RECKON_CHECK(b.size() > 0, "{}: no interactions found (only a header, or empty)",
               source.string());
  Dataset d = b.build(o.dedup, o.name.empty() ? default_name(source) : o.name,
                      info.explicit_ratings, o.keep_repeats);
  read_format_metadata(format, info, d);
  read_option_metadata(o, d);
  if (o.implicit) make_implicit(d);
  d.validate();
  return d;
}

}  // namespace

PredefinedSplit import_predefined_split(const fs::path& train, const fs::path& test,
                                        const ImportOptions& o) {
  const ImportFormat format = resolve(train, o);
  RECKON_CHECK(format != ImportFormat::kRkd,
               "{}: a predefined split reads raw train and test files, not .rkd files",
               train.string());
  RECKON_CHECK(!o.keep_repeats,
               "--keep-repeats is not available with --train and --test files yet: import one "
               "file with --keep-repeats and split it (--split last or time)");
  // The two parts are built from the rows in memory (no spilling).
  InteractionBuilder b(budget_of(o), 0);
  const ReadInfo info = read_interactions(train, format, o, b);
  RECKON_CHECK(b.size() > 0, "{}: no interactions found", train.string());
  b.end_part();
  const std::size_t train_rows = b.size();
  read_interactions(test, resolve(test, o), o, b);
  RECKON_CHECK(b.size() > train_rows, "{}: no interactions found", test.string());
  PredefinedSplit split;
  std::vector<CsrMatrix> parts = b.build_parts(o.dedup, split.train, info.explicit_ratings);
  split.train.name = o.name.empty() ? default_name(parent_of(train)) : o.name;
  split.train.interactions = std::move(parts[0]);
  split.test = std::move(parts[1]);
  read_format_metadata(format, info, split.train);
  read_option_metadata(o, split.train);
  if (o.implicit) make_implicit(split.train);
  split.train.validate();
  return split;
}

}  // namespace reckon
