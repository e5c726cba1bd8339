#pragma once
// Typed feature columns for users or items, one row per dense index.
#include <cmath>
#include <nlohmann/json_fwd.hpp>
#include <cstdint>
#include <absl/container/flat_hash_map.h>

#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "reckon/core/types.hpp"

namespace reckon {

class BinaryWriter;
class BinaryReader;

enum class FeatureKind : std::uint8_t {
  kNumeric = 0,           // a float per row (age, year); NaN when missing
  kCategorical = 1,       // at most one label per row (gender, occupation)
  kMultiCategorical = 2,  // any number of labels per row (genres, tags)
  kText = 3,              // free text per row (title, description); empty when missing
  kVector = 4,            // a dense vector of floats per row (an embedding); NaNs when missing
};
std::string_view to_string(FeatureKind kind);

class FeatureColumn {
 public:
  FeatureColumn(std::string name, FeatureKind kind, index_t rows);

  const std::string& name() const noexcept { return name_; }
  FeatureKind kind() const noexcept { return kind_; }
  index_t rows() const noexcept { return rows_; }

  // Setters (while building). Labels are interned into the column's vocabulary.
  void set_number(index_t row, float value);
  // A label-list column may weigh its labels (a tag's count on a book); weights are finite and
  // positive, 1 when not given. A label already in the row keeps its first weight.
  void add_label(index_t row, std::string_view label, float weight = 1.0f);
  void set_text(index_t row, std::string text);
  // Vector columns: the first vector sets the dimension; a vector of another length is an
  // InvalidInput naming the column (the caller adds where it came from).
  void set_vector(index_t row, std::span<const float> values);

  float number(index_t row) const { return numbers_[row]; }
  bool has_value(index_t row) const;
  // Label codes of a row (categorical kinds); label(code) gives the text.
  std::span<const std::int32_t> codes(index_t row) const;
  // The weights of codes(row), or empty when the column has none (every label weighs 1).
  std::span<const float> label_weights(index_t row) const {
    if (weights_.empty()) return {};
    return weights_[row];
  }
  bool has_label_weights() const noexcept { return !weights_.empty(); }
  const std::string& label(std::int32_t code) const { return vocabulary_[code]; }
  const std::vector<std::string>& vocabulary() const noexcept { return vocabulary_; }
  const std::string& text(index_t row) const { return texts_[row]; }
  // Vector columns: the dimension (0 until a vector is set) and a row's values.
  index_t dim() const noexcept { return dim_; }
  std::span<const float> vector(index_t row) const {
    return {numbers_.data() + row * dim_, static_cast<std::size_t>(dim_)};
  }
  // A printable value of a row: the number, the labels joined by '|', or the text.
  std::string format(index_t row) const;

  // The column restricted to `keep` (old row indexes, in the new order; a negative index is a
  // new row without a value).
  FeatureColumn select(std::span<const index_t> keep) const;

 private:
  friend class FeatureTable;
  friend void write_feature_column(BinaryWriter&, const FeatureColumn&);
  friend FeatureColumn read_feature_column(BinaryReader&);
  std::int32_t intern(std::string_view label);

  std::string name_;
  FeatureKind kind_;
  index_t rows_;
  std::vector<float> numbers_;  // numeric: one per row; vector: dim_ per row
  index_t dim_ = 0;
  std::vector<std::string> vocabulary_;
  std::vector<std::vector<std::int32_t>> labels_;  // per row
  std::vector<std::vector<float>> weights_;        // per row, beside labels_; empty: all 1
  std::vector<std::string> texts_;
  std::unordered_map<std::string, std::int32_t> label_index_;  // rebuilt on demand, not saved
};

// Serialisation of one column (defined with the dataset file format).
void write_feature_column(BinaryWriter& w, const FeatureColumn& column);
FeatureColumn read_feature_column(BinaryReader& r);

class FeatureTable {
 public:
  FeatureTable() = default;
  explicit FeatureTable(index_t rows) : rows_(rows) {}

  index_t rows() const noexcept { return rows_; }
  bool empty() const noexcept { return columns_.empty(); }
  // A deque, so references to columns stay valid while more are added.
  const std::deque<FeatureColumn>& columns() const noexcept { return columns_; }
  const FeatureColumn* find(std::string_view name) const;
  // Adds a column (its row count must match) or replaces one of the same name.
  FeatureColumn& add(FeatureColumn column);
  // Returns the column of that name, creating an empty one of that kind.
  FeatureColumn& column(std::string_view name, FeatureKind kind);
  FeatureTable select(std::span<const index_t> keep) const;

 private:
  FeatureColumn* find_mutable(std::string_view name);

  index_t rows_ = 0;
  std::deque<FeatureColumn> columns_;
  // Column position by name: a file with 40,000 columns must not cost a search per column.
  absl::flat_hash_map<std::string, std::size_t> by_name_;
};

// One row as a JSON object: numbers (integers without a fraction), labels, label arrays for
// multi-label columns, texts; missing values left out. Item metadata in answers and the CLI.
nlohmann::json feature_row_json(const FeatureTable& features, index_t row);

}  // namespace reckon
