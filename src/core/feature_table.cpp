#include "reckon/core/feature_table.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "reckon/core/error.hpp"

namespace reckon {

std::string_view to_string(FeatureKind kind) {
  switch (kind) {
    case FeatureKind::kNumeric:
      return "numeric";
    case FeatureKind::kCategorical:
      return "categorical";
    case FeatureKind::kMultiCategorical:
      return "multi-categorical";
    case FeatureKind::kText:
      return "text";
    case FeatureKind::kVector:
      return "vector";
  }
  return "unknown";
}

FeatureColumn::FeatureColumn(std::string name, FeatureKind kind, index_t rows)
    : name_(std::move(name)), kind_(kind), rows_(rows) {
  const auto n = static_cast<std::size_t>(rows);
  switch (kind_) {
    case FeatureKind::kNumeric:
      numbers_.assign(n, std::numeric_limits<float>::quiet_NaN());
      break;
    case FeatureKind::kCategorical:
    case FeatureKind::kMultiCategorical:
      labels_.resize(n);
      break;
    case FeatureKind::kText:
      texts_.resize(n);
      break;
    case FeatureKind::kVector:
      break;  // sized by the first vector
  }
}

void FeatureColumn::set_vector(index_t row, std::span<const float> values) {
  RECKON_ASSERT(kind_ == FeatureKind::kVector && row >= 0 && row < rows_);
  RECKON_CHECK(!values.empty(), "vector column \"{}\": an empty vector", name_);
  if (dim_ == 0) {
    RECKON_CHECK(static_cast<double>(values.size()) * static_cast<double>(rows_) < 2e9,
                 "vector column \"{}\": {} rows of {} values is too large", name_, rows_,
                 values.size());
    dim_ = static_cast<index_t>(values.size());
    numbers_.assign(static_cast<std::size_t>(rows_ * dim_), std::numeric_limits<float>::quiet_NaN());
  }
  RECKON_CHECK(static_cast<index_t>(values.size()) == dim_,
               "vector column \"{}\": a vector of {} values, the others have {}", name_,
               values.size(), dim_);
  std::copy(values.begin(), values.end(), numbers_.begin() + row * dim_);
}

void FeatureColumn::set_number(index_t row, float value) {
  RECKON_ASSERT(kind_ == FeatureKind::kNumeric && row >= 0 && row < rows_);
  numbers_[row] = value;
}

std::int32_t FeatureColumn::intern(std::string_view label) {
  // Tag vocabularies reach tens of thousands of labels, so look labels up in a hash index.
  if (label_index_.size() != vocabulary_.size()) {
    label_index_.clear();
    for (std::size_t i = 0; i < vocabulary_.size(); ++i)
      label_index_.emplace(vocabulary_[i], static_cast<std::int32_t>(i));
  }
  auto [it, inserted] =
      label_index_.emplace(std::string(label), static_cast<std::int32_t>(vocabulary_.size()));
  if (inserted) vocabulary_.emplace_back(label);
  return it->second;
}

void FeatureColumn::add_label(index_t row, std::string_view label, float weight) {
  RECKON_ASSERT((kind_ == FeatureKind::kCategorical || kind_ == FeatureKind::kMultiCategorical) &&
                row >= 0 && row < rows_);
  RECKON_CHECK(std::isfinite(weight) && weight > 0,
               "feature column \"{}\": label weights are positive numbers, got {}", name_, weight);
  const std::int32_t code = intern(label);
  auto& row_labels = labels_[row];
  if (kind_ == FeatureKind::kCategorical) {
    row_labels.assign(1, code);
    return;
  }
  if (std::find(row_labels.begin(), row_labels.end(), code) != row_labels.end()) return;
  if (weight != 1.0f && weights_.empty()) {
    // The first weight that is not 1: the labels so far weigh 1.
    weights_.resize(static_cast<std::size_t>(rows_));
    for (std::size_t r = 0; r < weights_.size(); ++r) weights_[r].assign(labels_[r].size(), 1.0f);
  }
  row_labels.push_back(code);
  if (!weights_.empty()) weights_[row].push_back(weight);
}

void FeatureColumn::set_text(index_t row, std::string text) {
  RECKON_ASSERT(kind_ == FeatureKind::kText && row >= 0 && row < rows_);
  texts_[row] = std::move(text);
}

bool FeatureColumn::has_value(index_t row) const {
  switch (kind_) {
    case FeatureKind::kNumeric:
      return !std::isnan(numbers_[row]);
    case FeatureKind::kCategorical:
    case FeatureKind::kMultiCategorical:
      return !labels_[row].empty();
    case FeatureKind::kText:
      return !texts_[row].empty();
    case FeatureKind::kVector:
      return dim_ > 0 && !std::isnan(numbers_[static_cast<std::size_t>(row * dim_)]);
  }
  return false;
}

std::span<const std::int32_t> FeatureColumn::codes(index_t row) const {
  if (labels_.empty()) return {};
  return labels_[row];
}

std::string FeatureColumn::format(index_t row) const {
  if (!has_value(row)) return {};
  switch (kind_) {
    case FeatureKind::kNumeric:
      return fmt::format("{}", numbers_[row]);
    case FeatureKind::kCategorical:
    case FeatureKind::kMultiCategorical: {
      std::string out;
      for (std::int32_t c : labels_[row]) {
        if (!out.empty()) out += '|';
        out += vocabulary_[c];
      }
      return out;
    }
    case FeatureKind::kText:
      return texts_[row];
    case FeatureKind::kVector:
      return fmt::format("vector of {}", dim_);
  }
  return {};
}

FeatureColumn FeatureColumn::select(std::span<const index_t> keep) const {
  FeatureColumn out(name_, kind_, static_cast<index_t>(keep.size()));
  out.vocabulary_ = vocabulary_;
  for (std::size_t i = 0; i < keep.size(); ++i) {
    const index_t r = keep[i];
    if (r < 0) continue;  // a new row, without a value
    switch (kind_) {
      case FeatureKind::kNumeric:
        out.numbers_[i] = numbers_[r];
        break;
      case FeatureKind::kCategorical:
      case FeatureKind::kMultiCategorical:
        out.labels_[i] = labels_[r];
        if (!weights_.empty()) {
          if (out.weights_.empty()) out.weights_.resize(keep.size());
          out.weights_[i] = weights_[r];
        }
        break;
      case FeatureKind::kText:
        out.texts_[i] = texts_[r];
        break;
      case FeatureKind::kVector:
        if (dim_ > 0) out.set_vector(static_cast<index_t>(i), vector(r));
        break;
    }
  }
  return out;
}

const FeatureColumn* FeatureTable::find(std::string_view name) const {
  const auto it = by_name_.find(absl::string_view(name.data(), name.size()));
  return it == by_name_.end() ? nullptr : &columns_[it->second];
}

FeatureColumn* FeatureTable::find_mutable(std::string_view name) {
  const auto it = by_name_.find(absl::string_view(name.data(), name.size()));
  return it == by_name_.end() ? nullptr : &columns_[it->second];
}

FeatureColumn& FeatureTable::add(FeatureColumn column) {
  RECKON_CHECK(column.rows() == rows_, "feature column \"{}\" has {} rows, the table has {}",
               column.name(), column.rows(), rows_);
  if (FeatureColumn* c = find_mutable(column.name())) {
    *c = std::move(column);
    return *c;
  }
  by_name_.emplace(column.name(), columns_.size());
  columns_.push_back(std::move(column));
  return columns_.back();
}

FeatureColumn& FeatureTable::column(std::string_view name, FeatureKind kind) {
  if (FeatureColumn* c = find_mutable(name)) {
    RECKON_CHECK(c->kind() == kind, "feature column \"{}\" is {}, not {}", name,
                 to_string(c->kind()), to_string(kind));
    return *c;
  }
  by_name_.emplace(std::string(name), columns_.size());
  columns_.emplace_back(std::string(name), kind, rows_);
  return columns_.back();
}

FeatureTable FeatureTable::select(std::span<const index_t> keep) const {
  FeatureTable out(static_cast<index_t>(keep.size()));
  for (const auto& c : columns_) out.add(c.select(keep));
  return out;
}

nlohmann::json feature_row_json(const FeatureTable& features, index_t row) {
  nlohmann::json out = nlohmann::json::object();
  for (const FeatureColumn& c : features.columns()) {
    if (!c.has_value(row)) continue;
    switch (c.kind()) {
      case FeatureKind::kNumeric: {
        const double v = c.number(row);
        if (v == std::floor(v) && std::abs(v) < 1e15)
          out[c.name()] = static_cast<std::int64_t>(v);
        else
          out[c.name()] = v;
        break;
      }
      case FeatureKind::kCategorical:
        out[c.name()] = c.label(c.codes(row)[0]);
        break;
      case FeatureKind::kMultiCategorical: {
        nlohmann::json labels = nlohmann::json::array();
        for (auto code : c.codes(row)) labels.push_back(c.label(code));
        out[c.name()] = std::move(labels);
        break;
      }
      case FeatureKind::kText:
        out[c.name()] = c.text(row);
        break;
      case FeatureKind::kVector:
        break;  // embeddings stay out of answers: they are long and say nothing to a reader
    }
  }
  return out;
}

}  // namespace reckon
