#include "reckon/io/import.hpp"

#include <algorithm>

#include "readers.hpp"
#include "reckon/core/error.hpp"
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
  if (!o.items.empty()) read_metadata(o.items, d.items, d.item_features, o);
  if (!o.users.empty()) read_metadata(o.users, d.users, d.user_features, o);
}

void make_implicit(Dataset& d) {
  d.interactions = d.interactions.with_values(std::vector<float>(d.interactions.nnz(), 1.0f));
  d.explicit_ratings = false;
}

ImportFormat resolve(const fs::path& source, ImportFormat f) {
  if (f != ImportFormat::kAuto) return f;
  return detect_format(source);
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
  return ImportFormat::kCsv;
}

Dataset import_dataset(const fs::path& source, const ImportOptions& o) {
  const ImportFormat format = resolve(source, o.format);
  if (format == ImportFormat::kRkd) {
    Dataset d = load_dataset(source);
    read_option_metadata(o, d);
    if (o.implicit) make_implicit(d);
    return d;
  }
  InteractionBuilder b;
  const ReadInfo info = read_interactions(source, format, o, b);
  RECKON_CHECK(b.size() > 0, "{}: no interactions found (only a header, or empty)",
               source.string());
  Dataset d =
      b.build(o.dedup, o.name.empty() ? default_name(source) : o.name, info.explicit_ratings);
  read_format_metadata(format, info, d);
  read_option_metadata(o, d);
  if (o.implicit) make_implicit(d);
  d.validate();
  return d;
}

PredefinedSplit import_predefined_split(const fs::path& train, const fs::path& test,
                                        const ImportOptions& o) {
  const ImportFormat format = resolve(train, o.format);
  RECKON_CHECK(format != ImportFormat::kRkd,
               "{}: a predefined split reads raw train and test files, not .rkd files",
               train.string());
  InteractionBuilder b;
  const ReadInfo info = read_interactions(train, format, o, b);
  RECKON_CHECK(b.size() > 0, "{}: no interactions found", train.string());
  b.end_part();
  const std::size_t train_rows = b.size();
  read_interactions(test, resolve(test, o.format), o, b);
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
