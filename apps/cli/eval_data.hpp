#pragma once
// The data evaluate and tune read: one source split here, or a predefined train/test pair (raw
// files or the .rkd files reckon split writes), and an optional validation part carved from the
// training data. The test part is read only when asked for: tune's search never sees it.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "prep_flags.hpp"
#include "reckon/prep/split.hpp"

namespace reckon::cli {

struct EvalDataFlags {
  std::string data, train, test, foldin;
  std::string split = "random";
  SplitOptions split_options;
  index_t foldin_count = -1;  // users: favourites given per held-out user (-1: the fraction)
  std::string cutoff;
  std::string validation;  // empty: none; else last, random, time, users
  double validation_fraction = 0.1;
  ImportFlags import_flags;
  PrepFlags prep_flags;
};
void add_eval_data_flags(CLI::App* cmd, EvalDataFlags& flags);

// A part to evaluate on: matrices in the id space of the training data.
struct HeldOut {
  CsrMatrix test, foldin;
  EventLog foldin_events;  // a split of an event log: the fold-in with its repeats
};

struct TrainPart {
  Dataset train;  // filtered, not yet weighted
  SplitKind kind = SplitKind::kRandom;
  nlohmann::json protocol;           // split, seed, fractions
  std::vector<std::string> sources;  // data files read, for the report's provenance
  // Reads (or hands over) the test part in the id space of `train` (this part's train, perhaps
  // weighted since); call once.
  std::function<HeldOut(const Dataset& train)> test;
};
TrainPart load_train_part(const EvalDataFlags& flags);

// Validation carved from `train` per --validation (same seed): train becomes the rest.
struct Carved {
  Dataset train;
  HeldOut validation;
  nlohmann::json protocol;
};
Carved carve_validation(const Dataset& train, const EvalDataFlags& flags);

// The weights of --weight/--half-life on a training part (filters were applied before the
// split: the test part keeps its raw values).
std::shared_ptr<const Dataset> weighted(Dataset train, const PrepFlags& flags);

// `part` (read from another file) in the id space of `train`; drops and reports unknown ids.
CsrMatrix aligned_to(const Dataset& part, const Dataset& train, const std::string& what);

}  // namespace reckon::cli
