#pragma once
// The evaluation report: JSON (the contract's schema), Markdown, an SVG chart, a console table.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace reckon {

using index_t = std::int64_t;

struct ModelReport {
  std::string name;
  nlohmann::json params = nlohmann::json::object();
  double fit_seconds = 0;
  double evaluate_seconds = 0;
  double peak_rss_mb = 0;
  std::int64_t users = 0;
  std::map<std::string, double> metrics;
  // How its lists were searched when not exactly (evaluate --ann): the approximate index.
  std::string retrieval;
};

struct Report {
  nlohmann::json dataset;   // name, users, items, train_interactions, test_interactions
  nlohmann::json protocol;  // split, k, candidates, seed, ...
  // What reproduces the figures: reckon's version, the command line, each data file and its
  // SHA-256, the prep flags and weights (null: not recorded).
  nlohmann::json provenance;
  std::vector<ModelReport> models;
};

// The report's "dataset" object for a training set and its test matrix.
nlohmann::json describe_dataset(const std::string& name, index_t users, index_t items,
                                index_t train_interactions, index_t test_interactions);

nlohmann::json to_json(const Report& report);
std::string to_markdown(const Report& report);
// One group of bars per metric, one colour per model, values printed on the bars.
std::string to_svg(const Report& report);
std::string to_console(const Report& report);

// Metric columns in a stable order: ranking metrics by k, then the rest.
std::vector<std::string> metric_columns(const Report& report);

// Peak resident memory since the last reset, in MB (Linux VmHWM), and its reset.
double peak_rss_mb();
void reset_peak_rss();

}  // namespace reckon
