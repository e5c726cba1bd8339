#pragma once
// Turns the columns of a feature table (item metadata, user demographics) into sparse feature
// vectors for the feature-aware models (content, hybrid): one feature per label of a
// categorical or label-list column, one per kept term of a text column (the terms in at least
// min_df rows, the max_terms most frequent; sublinear term frequency), for a numeric column
// either one feature per quantile bucket or one raw value scaled to [0, 1], and for a vector
// column (an embedding) one feature per component, the vector scaled to unit length.
//
// The encoder keeps its vocabularies by name, not by the codes of the table it was fitted on,
// so it encodes any table with the same column names: the training items, a new item's
// metadata from PUT /items, a stranger's demographics. Labels it has not seen are dropped.
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "reckon/core/csr_matrix.hpp"
#include "reckon/core/feature_table.hpp"

namespace reckon {

class BinaryWriter;
class BinaryReader;

struct FeatureEncoderOptions {
  std::string columns;        // comma-separated names; empty: the default choice (see fit)
  bool numeric = true;        // numeric columns may be used (content: no)
  bool numeric_raw = false;   // numeric: one raw scaled value instead of quantile buckets
  int buckets = 10;           // numeric: quantile buckets
  index_t min_df = 2;         // text: rows a term must appear in
  std::size_t max_terms = 50000;  // text: terms kept per column
  std::string side = "item";  // "item" or "user", for messages
  bool label_weights = true;  // labels weigh their given weights (else 1)
};

class FeatureEncoder {
 public:
  struct Column {
    std::string name;
    FeatureKind kind = FeatureKind::kCategorical;
    index_t offset = 0;               // its first feature
    std::vector<std::string> values;  // labels or terms, one feature each
    std::vector<float> edges;         // numeric buckets: the upper edges; raw: {min, max}
    bool raw = false;
    index_t dim = 0;                  // vector columns: one feature per component
    index_t size() const;
  };

  // Chooses the columns (named, or by default every column except ids, URLs, ISBNs, image
  // links and label columns with a label for most rows) and learns their vocabularies from
  // the rows of `table`. Only labels and terms some row has become features. `who` names the
  // model in errors (an unknown or unusable column lists the known ones).
  void fit(const FeatureTable& table, const FeatureEncoderOptions& options, std::string_view who);

  index_t size() const noexcept { return size_; }
  bool empty() const noexcept { return columns_.empty(); }
  const std::vector<Column>& columns() const noexcept { return columns_; }
  // "genres=Comedy", "title~love", "age#3" (bucket 3), "year" (raw): for reports and explain.
  std::string feature_name(index_t feature) const;

  // Every row of `table` as (feature, value): rows x size(). Columns the table lacks, values
  // it has not got and labels the encoder does not know add nothing.
  CsrMatrix encode(const FeatureTable& table) const;
  // One row of `table` (cleared first): for a stranger's features or a new item's metadata.
  void encode_row(const FeatureTable& table, index_t row,
                  std::vector<std::pair<index_t, float>>& out) const;

  // Model-file serialisation; read() checks every size and recomputes the offsets.
  void write(BinaryWriter& w) const;
  void read(BinaryReader& r);

 private:
  std::vector<Column> columns_;
  index_t size_ = 0;
  bool label_weights_ = true;
  // Term -> feature per text column, rebuilt after fit and read.
  std::vector<std::unordered_map<std::string, index_t>> terms_;
  void index_terms();
};

// Lowercased words of a text: runs of ASCII letters and digits or of non-ASCII bytes (UTF-8
// letters stay whole), two bytes or more.
void text_words(std::string_view text, std::vector<std::string>& out);

}  // namespace reckon
