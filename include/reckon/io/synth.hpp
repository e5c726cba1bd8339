#pragma once
// Synthetic interaction data for scale tests and benchmarks (`reckon data synth`): power-law
// users and items (a few heavy users and hit items, a long tail of both), taste clusters so that
// models have something to learn, optional times, ratings and features. Rows are generated one
// by one and written as they come, so a billion rows need no more memory than ten.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace reckon {

struct SynthOptions {
  std::int64_t users = 100'000, items = 20'000, interactions = 1'000'000;
  std::uint64_t seed = 42;
  // Exponents of the power laws: P(rank r) ~ r^-a (0: uniform; about 1: Zipf's law).
  double user_exponent = 0.8, item_exponent = 1.0;
  // Users and items fall into `clusters` taste groups (by id modulo); a row takes an item of
  // its user's group with probability `affinity`, else any item by popularity.
  std::int64_t clusters = 20;
  double affinity = 0.8;
  bool times = false;    // a timestamp column: rising through the rows over `days` from 2020
  std::int64_t days = 365;
  bool ratings = false;  // a 1-5 rating column (in-group items rate higher)
  char separator = ',';
};

// Checks the options (counts positive, at most 2^31 users and items, exponents in [0, 3],
// affinity in [0, 1]); throws InvalidInput naming the first that is not.
void check_synth_options(const SynthOptions& o);

// Writes the interactions (header "user_id,item_id[,rating][,timestamp]") through `write`, in
// pieces of about 1 MiB; `progress(rows)` is called after each piece. Same options, same bytes.
void generate_interactions(const SynthOptions& o, const std::function<void(std::string_view)>& write,
                           const std::function<void(std::int64_t)>& progress = {});

// Item metadata (item_id,title,genres: its cluster's name) and user features (user_id,age,gender,
// occupation), consistent with the interactions' clusters.
void generate_item_features(const SynthOptions& o, const std::function<void(std::string_view)>& write);
void generate_user_features(const SynthOptions& o, const std::function<void(std::string_view)>& write);

}  // namespace reckon
