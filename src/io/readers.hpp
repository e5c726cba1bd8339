#pragma once
// Internal: the format readers behind import.hpp. Each appends rows to an InteractionBuilder;
// metadata readers fill the feature tables of a built dataset.
#include <filesystem>
#include <string>
#include <vector>

#include "reckon/io/import.hpp"
#include "reckon/io/interaction_builder.hpp"

namespace reckon::detail {
namespace fs = std::filesystem;

// MovieLens: a directory (100K, 1M/10M, 20M/25M layouts) or one ratings file (u.data, u1.base,
// ratings.dat[.gz], ratings.csv). Returns the ratings file(s) read.
void read_movielens_ratings(const fs::path& file, InteractionBuilder& b);
fs::path movielens_ratings_file(const fs::path& dir);
// Fills item and user features from the metadata files beside `ratings_file`.
void read_movielens_metadata(const fs::path& ratings_file, Dataset& d);

void read_lightgcn(const fs::path& file, InteractionBuilder& b);

fs::path goodbooks_ratings_file(const fs::path& dir);
void read_goodbooks_ratings(const fs::path& file, InteractionBuilder& b);
void read_goodbooks_metadata(const fs::path& dir, Dataset& d);

// Generic delimited text and JSON lines; return whether a rating column was read.
bool read_delimited(const fs::path& file, const ImportOptions& options, bool tsv,
                    InteractionBuilder& b);
bool read_jsonl(const fs::path& file, const ImportOptions& options, InteractionBuilder& b);

// The user, item, rating and time columns of a source with these column names (lowercased;
// empty: no header, positions 1-4), per the --*-col options or the usual names; -1 for an
// absent optional column. Throws InvalidInput naming `source` and the flag to pass.
struct InteractionColumns {
  int user = -1, item = -1, rating = -1, time = -1;
};
InteractionColumns resolve_interaction_columns(const std::vector<std::string>& names,
                                               const ImportOptions& options,
                                               const std::string& source, std::size_t width);

// Interactions from options.query or options.table of an SQLite or PostgreSQL source
// (database.cpp), streamed; returns whether a rating column was read.
bool read_database(const std::string& source, const ImportOptions& options, InteractionBuilder& b);

// First existing path among `dir/name` and `dir/name.gz` for each name, or empty.
fs::path find_file(const fs::path& dir, std::initializer_list<const char*> names);

}  // namespace reckon::detail
