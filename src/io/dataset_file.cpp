#include "reckon/io/dataset_file.hpp"

#include <fstream>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/files.hpp"

namespace reckon {
namespace {

constexpr std::string_view kMagic = "RECKONDS";
constexpr std::string_view kEventsSection = "events";

void write_ids(BinaryWriter& w, const IdMap& ids) { w.put_strings(ids.ids()); }

void write_features(BinaryWriter& w, const FeatureTable& table) {
  w.put<std::int64_t>(table.rows());
  w.put<std::uint64_t>(table.columns().size());
  for (const auto& c : table.columns()) write_feature_column(w, c);
}

FeatureTable read_features(BinaryReader& r) {
  const auto rows = r.get<std::int64_t>();
  FeatureTable table(rows);
  const auto n = r.get<std::uint64_t>();
  RECKON_CHECK(n < 100000, "{}: corrupt feature table", r.what());
  for (std::uint64_t i = 0; i < n; ++i) table.add(read_feature_column(r));
  return table;
}

// The 64-bit item indexes of a version 1 or 2 file, as the 32-bit ones a matrix holds: each must
// lie within the items, or narrowing could turn it into another valid item.
template <typename Wide>
std::vector<col_t> narrow_items(const Wide& wide, index_t items, const std::string& what) {
  std::vector<col_t> out(wide.size());
  for (std::size_t k = 0; k < wide.size(); ++k) {
    RECKON_CHECK(wide[k] >= 0 && wide[k] < items && wide[k] <= kMaxMatrixColumns,
                 "{}: corrupt dataset (item index {} of {} items)", what, wide[k], items);
    out[k] = static_cast<col_t>(wide[k]);
  }
  return out;
}

}  // namespace

void write_feature_column(BinaryWriter& w, const FeatureColumn& c) {
  w.put_string(c.name_);
  w.put<std::uint8_t>(static_cast<std::uint8_t>(c.kind_));
  w.put<std::int64_t>(c.rows_);
  if (!c.weights_.empty()) {
    // A label list's weights ride in the numbers' slot, one per code (empty for label columns
    // without weights, as in files of 0.5.0 and before, which therefore read unchanged).
    std::vector<float> flat;
    for (const auto& row : c.weights_) flat.insert(flat.end(), row.begin(), row.end());
    w.put_vector(flat);
  } else {
    w.put_vector(c.numbers_);
  }
  w.put_strings(c.vocabulary_);
  // Labels as CSR: offsets then codes.
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int32_t> codes;
  for (const auto& row : c.labels_) {
    codes.insert(codes.end(), row.begin(), row.end());
    offsets.push_back(static_cast<std::int64_t>(codes.size()));
  }
  w.put_vector(offsets);
  w.put_vector(codes);
  w.put_strings(c.texts_);
  if (c.kind_ == FeatureKind::kVector) w.put<std::int64_t>(c.dim_);
}

FeatureColumn read_feature_column(BinaryReader& r) {
  std::string name = r.get_string();
  const auto kind = r.get<std::uint8_t>();
  RECKON_CHECK(kind <= 4, "{}: corrupt feature column \"{}\"", r.what(), name);
  const auto rows = r.get<std::int64_t>();
  RECKON_CHECK(rows >= 0, "{}: corrupt feature column \"{}\"", r.what(), name);
  FeatureColumn c(std::move(name), static_cast<FeatureKind>(kind), 0);
  c.rows_ = rows;
  c.numbers_ = r.get_vector<float>();
  c.vocabulary_ = r.get_strings();
  const auto offsets = r.get_vector<std::int64_t>();
  const auto codes = r.get_vector<std::int32_t>();
  c.texts_ = r.get_strings();
  const auto n = static_cast<std::size_t>(rows);
  if (c.kind_ == FeatureKind::kVector) {
    const auto dim = r.get<std::int64_t>();
    // numbers_ was read with its own bounded length: the product must equal it.
    RECKON_CHECK(dim >= 0 && dim <= (1 << 20) && rows <= (std::int64_t{1} << 40) &&
                     c.numbers_.size() == n * static_cast<std::size_t>(dim) &&
                     (dim > 0 || c.numbers_.empty()) && c.vocabulary_.empty() && c.texts_.empty() &&
                     offsets.size() == 1 && codes.empty(),
                 "{}: corrupt vector column \"{}\"", r.what(), c.name_);
    c.dim_ = dim;
    return c;
  }
  const bool numeric = c.kind_ == FeatureKind::kNumeric;
  const bool labelled =
      c.kind_ == FeatureKind::kCategorical || c.kind_ == FeatureKind::kMultiCategorical;
  const bool text = c.kind_ == FeatureKind::kText;
  std::vector<float> label_weights;
  if (c.kind_ == FeatureKind::kMultiCategorical && !c.numbers_.empty()) {
    label_weights = std::move(c.numbers_);
    c.numbers_.clear();
    RECKON_CHECK(label_weights.size() == codes.size(),
                 "{}: corrupt feature column \"{}\" ({} label weights for {} labels)", r.what(),
                 c.name_, label_weights.size(), codes.size());
    for (const float x : label_weights)
      RECKON_CHECK(std::isfinite(x) && x > 0, "{}: corrupt feature column \"{}\" (label weight)",
                   r.what(), c.name_);
  }
  RECKON_CHECK(c.numbers_.size() == (numeric ? n : 0) && c.texts_.size() == (text ? n : 0) &&
                   offsets.size() == (labelled ? n + 1 : 1) && offsets.front() == 0 &&
                   offsets.back() == static_cast<std::int64_t>(codes.size()),
               "{}: corrupt feature column \"{}\"", r.what(), c.name_);
  if (labelled) {
    // Every offset first (non-decreasing from 0 to the code count, so each row's range lies
    // within the codes), then the rows: a later offset beyond the codes must not be read.
    for (std::size_t i = 0; i < n; ++i)
      RECKON_CHECK(offsets[i] <= offsets[i + 1] &&
                       (c.kind_ == FeatureKind::kMultiCategorical || offsets[i + 1] - offsets[i] <= 1),
                   "{}: corrupt feature column \"{}\" (label offsets)", r.what(), c.name_);
    c.labels_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      for (auto k = offsets[i]; k < offsets[i + 1]; ++k) {
        RECKON_CHECK(codes[k] >= 0 && static_cast<std::size_t>(codes[k]) < c.vocabulary_.size(),
                     "{}: corrupt feature column \"{}\"", r.what(), c.name_);
        c.labels_[i].push_back(codes[k]);
      }
    }
    if (!label_weights.empty()) {
      c.weights_.resize(n);
      for (std::size_t i = 0; i < n; ++i)
        c.weights_[i].assign(label_weights.begin() + offsets[i], label_weights.begin() + offsets[i + 1]);
    }
  }
  return c;
}

std::string encode_dataset(const Dataset& d, std::uint32_t version) {
  d.validate();
  BinaryWriter w;
  write_dataset(w, d, version);
  return std::move(w).take();
}

void write_dataset(BinaryWriter& w, const Dataset& d, std::uint32_t version) {
  RECKON_ASSERT(version >= 1 && version <= kDatasetFormatVersion);
  // Versions 2 and 3 align their arrays from the start of the buffer: the body must start there.
  RECKON_ASSERT(version == 1 || w.size() % BinaryWriter::kArrayAlignment == 0);
  w.put_string(d.name);
  w.put<std::uint8_t>(d.explicit_ratings ? 1 : 0);
  write_ids(w, d.users);
  write_ids(w, d.items);
  const CsrMatrix& m = d.interactions;
  auto put = [&](auto values) {
    if (version == 1)
      w.put_vector(values);
    else
      w.put_aligned_vector(values);
  };
  // Versions 1 and 2 held 64-bit item indexes (still written, for the tests of old files).
  const auto wide = [](std::span<const col_t> items) {
    return std::vector<index_t>(items.begin(), items.end());
  };
  put(m.indptr());
  if (version >= 3)
    put(m.indices());
  else
    put(std::span<const index_t>(wide(m.indices())));
  put(m.values());
  put(m.times());
  write_features(w, d.user_features);
  write_features(w, d.item_features);
  // The event log is an optional last section: a file without one reads as before 0.13.0.
  if (!d.events.empty()) {
    const EventLog& e = d.events;
    w.put_string(kEventsSection);
    w.put<std::uint8_t>(static_cast<std::uint8_t>(e.merge()));
    w.put_vector(e.indptr());
    if (version >= 3)
      w.put_vector(e.items());
    else
      w.put_vector(std::span<const index_t>(wide(e.items())));
    w.put_vector(e.values());
    w.put_vector(e.times());
  }
}

void save_dataset(const Dataset& d, const std::filesystem::path& path) {
  d.validate();
  write_checked_file(
      path, kMagic, kDatasetFormatVersion,
      {static_cast<std::uint64_t>(d.num_users()), static_cast<std::uint64_t>(d.num_items()),
       static_cast<std::uint64_t>(d.num_interactions())},
      [&](BinaryWriter& w) { write_dataset(w, d, kDatasetFormatVersion); });
}

Dataset load_dataset(const std::filesystem::path& path) {
  CheckedFile file =
      read_checked_file(path, kMagic, kDatasetFormatVersion, "reckon dataset (.rkd)");
  Dataset d = decode_dataset(file.body, path.string(), file.version, file.storage);
  RECKON_CHECK(file.fields.size() >= 3 &&
                   file.fields[0] == static_cast<std::uint64_t>(d.num_users()) &&
                   file.fields[1] == static_cast<std::uint64_t>(d.num_items()) &&
                   file.fields[2] == static_cast<std::uint64_t>(d.num_interactions()),
               "{}: corrupt dataset (header counts disagree with the body)", path.string());
  return d;
}

Dataset decode_dataset(std::string_view bytes, const std::string& what, std::uint32_t version,
                       const std::shared_ptr<const void>& owner) {
  RECKON_CHECK(version >= 1 && version <= kDatasetFormatVersion,
               "{}: dataset format version {} is not known", what, version);
  BinaryReader r(bytes, what);
  Dataset d;
  d.name = r.get_string();
  d.explicit_ratings = r.get<std::uint8_t>() != 0;
  d.users = IdMap::from_ids(r.get_strings());
  d.items = IdMap::from_ids(r.get_strings());
  auto get = [&]<typename T>() {
    return version == 1 ? SharedArray<T>(r.get_vector<T>()) : r.get_aligned_vector<T>(owner);
  };
  auto indptr = get.operator()<index_t>();
  auto indices = version >= 3 ? get.operator()<col_t>()
                              : narrow_items(get.operator()<index_t>(), d.items.size(), what);
  auto values = get.operator()<float>();
  auto times = get.operator()<std::int64_t>();
  try {
    d.interactions = CsrMatrix(d.users.size(), d.items.size(), std::move(indptr),
                               std::move(indices), std::move(values), std::move(times));
  } catch (const InvalidInput& e) {
    throw InvalidInput(fmt::format("{}: corrupt dataset: {}", what, e.what()));
  }
  d.user_features = read_features(r);
  d.item_features = read_features(r);
  if (!r.at_end()) {
    RECKON_CHECK(r.get_string() == kEventsSection, "{}: corrupt dataset (trailing bytes)", what);
    const auto merge = r.get<std::uint8_t>();
    RECKON_CHECK(merge <= static_cast<std::uint8_t>(DedupPolicy::kMax),
                 "{}: corrupt dataset (event log merge policy {})", what, merge);
    auto e_indptr = r.get_vector<index_t>();
    auto e_items = version >= 3 ? r.get_vector<col_t>()
                                : narrow_items(r.get_vector<index_t>(), d.items.size(), what);
    auto e_values = r.get_vector<float>();
    auto e_times = r.get_vector<std::int64_t>();
    try {
      d.events = EventLog(d.users.size(), d.items.size(), std::move(e_indptr), std::move(e_items),
                          std::move(e_values), std::move(e_times),
                          static_cast<DedupPolicy>(merge));
    } catch (const InvalidInput& e) {
      throw InvalidInput(fmt::format("{}: corrupt dataset: {}", what, e.what()));
    }
  }
  RECKON_CHECK(r.at_end(), "{}: corrupt dataset (trailing bytes)", what);
  try {
    d.validate();
  } catch (const InvalidInput& e) {
    throw InvalidInput(fmt::format("{}: corrupt dataset: {}", what, e.what()));
  }
  return d;
}

bool is_dataset_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return in.gcount() == 8 && std::string_view(magic, 8) == kMagic;
}

}  // namespace reckon
