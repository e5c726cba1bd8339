#pragma once
// Reading raw interaction data (and metadata) into a Dataset. Parsing lives only in io/.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/core/dataset.hpp"
#include "reckon/io/interaction_builder.hpp"

namespace reckon {

enum class ImportFormat { kAuto, kMovieLens, kCsv, kTsv, kJsonl, kLightGcn, kGoodbooks, kRkd };
std::string_view to_string(ImportFormat format);
// Throws InvalidInput listing the known names.
ImportFormat parse_import_format(std::string_view name);

struct ImportOptions {
  ImportFormat format = ImportFormat::kAuto;
  // Generic CSV/TSV/JSONL columns: a header name or a 1-based position; empty = guess from the
  // header (user, user_id, userId, session_id, ...). The session column is an alias for the user
  // column, for click logs where a session plays the user.
  std::string user_col, item_col, rating_col, time_col, session_col;
  std::string sep;              // CSV separator: any text, e.g. ",", ";", "\t", "::"; empty = guess
  std::optional<bool> header;   // empty = detect from the first line
  std::filesystem::path items;  // item metadata (CSV/TSV/JSONL with an id column)
  std::filesystem::path users;  // user features
  // Their id columns (a header name or key, or a 1-based position); empty = the first of id,
  // item_id, movieId, book_id, user_id, ... (else the first column).
  std::string items_id_col, users_id_col;
  // Precomputed item embeddings: lines of an id and its floats; a vector column "embedding".
  std::filesystem::path item_vectors;
  DedupPolicy dedup = DedupPolicy::kLast;
  bool implicit = false;  // ignore ratings: every interaction has value 1
  // Also keep every row as an event, in time order with its repeats (Dataset::events), for the
  // sequence models; the matrix still merges them by `dedup`.
  bool keep_repeats = false;
  std::string name;       // dataset name; defaults to the source's name
  // Database sources (io/database.hpp): a SELECT to run, or a table to read whole.
  std::string query, table;
  // Bytes the import may take; 0: half of this machine's memory (default_import_memory()).
  std::size_t max_memory = 0;
  // Rows held before they are sorted into a run in a temporary file (TMPDIR) and merged at the
  // end (InteractionBuilder); 0 keeps every row in memory. --keep-repeats and predefined
  // splits keep every row in memory whatever this says.
  std::size_t spill_rows = InteractionBuilder::kDefaultSpillRows;
};

// Half of the physical memory (or of the cgroup's limit, when lower).
std::size_t default_import_memory();

// Reads `source` (a file or a directory; gzip transparently; a .rkd file is loaded) per
// `options`. "-", a pipe or another non-regular file (/dev/stdin, <(...)) is read once into a
// temporary file first, so that format detection and reading see the same bytes.
Dataset import_dataset(const std::filesystem::path& source, const ImportOptions& options);

// A predefined split: train and test files read into one id space. `test` is users x items of
// the returned dataset (items only in the test file are part of the catalogue).
struct PredefinedSplit {
  Dataset train;
  CsrMatrix test;
};
PredefinedSplit import_predefined_split(const std::filesystem::path& train,
                                        const std::filesystem::path& test,
                                        const ImportOptions& options);

// Item or user metadata from a delimited or JSONL file keyed by the ids of `ids`; rows for ids
// not in `ids` are skipped. Column kinds are inferred (numbers, labels, '|' lists, text).
// `id_column`: the id column's name (or 1-based position; a JSON key), empty = guess.
void read_metadata(const std::filesystem::path& path, const IdMap& ids, FeatureTable& table,
                   const ImportOptions& options, std::string_view id_column = {});

// Item vectors (one line per item: its id, then floats separated by spaces, tabs or commas)
// into a vector column `column`; lines of ids not in `ids` are skipped, a line of another
// length or with a value that is not a finite number is an error naming the file and line.
void read_item_vectors(const std::filesystem::path& path, const IdMap& ids, FeatureTable& table,
                       const std::string& column = "embedding");
// The same from a NumPy .npy file (2-d float32/float64, C order), its rows named by the ids in
// the file beside it with the extension .ids (one per line).
void read_npy_item_vectors(const std::filesystem::path& path, const IdMap& ids,
                           FeatureTable& table, const std::string& column = "embedding");

// The name of the format auto-detection picks for `source`, for messages.
ImportFormat detect_format(const std::filesystem::path& source);

}  // namespace reckon
