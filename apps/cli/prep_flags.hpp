#pragma once
// Flags shared by the commands that read data: import options, filters and weights.
#include <CLI/CLI.hpp>

#include "reckon/io/import.hpp"
#include "reckon/prep/filters.hpp"
#include "reckon/prep/weights.hpp"

namespace reckon::cli {

struct ImportFlags {
  std::string format = "auto";
  std::string dedup = "last";
  int header = 0;            // +1 --header, -1 --no-header, 0 detect
  double max_memory_mb = 0;  // 0: half of the machine's memory
  ImportOptions options;
  ImportOptions resolve() const;  // validates names
};
void add_import_flags(CLI::App* cmd, ImportFlags& flags);

struct PrepFlags {
  FilterOptions filters;
  std::string weight;
  double half_life_days = 0;
  std::optional<float> min_rating;
};
void add_prep_flags(CLI::App* cmd, PrepFlags& flags);
// Filters, then weights; logs what changed.
Dataset apply_prep(Dataset dataset, const PrepFlags& flags);

// Loads a .rkd file, or imports a raw source (path or known dataset name).
Dataset read_data(const std::string& source, const ImportFlags& flags);

}  // namespace reckon::cli
