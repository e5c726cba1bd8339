// NumPy .npy arrays of item vectors (the usual way embeddings leave a notebook): a 2-d array of
// little-endian float32 or float64 in C order, its rows the items named, one per line, in the
// file beside it with the extension .ids. Every size in the header is checked against the file.
#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "readers.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/files.hpp"
#include "reckon/io/import.hpp"
#include "reckon/io/line_reader.hpp"
#include "reckon/io/text.hpp"

namespace reckon {

namespace fs = std::filesystem;

namespace {

// The value of `key` in the header dictionary ("'descr': '<f4', 'fortran_order': False, ...").
std::string_view header_value(std::string_view header, std::string_view key,
                              const std::string& what) {
  const std::string quoted = fmt::format("'{}'", key);
  const auto at = header.find(quoted);
  RECKON_CHECK(at != std::string_view::npos, "{}: the .npy header has no {}", what, quoted);
  std::string_view rest = header.substr(at + quoted.size());
  const auto colon = rest.find(':');
  RECKON_CHECK(colon != std::string_view::npos, "{}: a malformed .npy header", what);
  rest = trim(rest.substr(colon + 1));
  // A tuple runs to its ')', anything else to the next ','.
  const auto end = rest.starts_with('(') ? rest.find(')') + 1 : rest.find(',');
  RECKON_CHECK(end != std::string_view::npos && end != 0, "{}: a malformed .npy header", what);
  return trim(rest.substr(0, end));
}

}  // namespace

void read_npy_item_vectors(const fs::path& path, const IdMap& ids, FeatureTable& table,
                           const std::string& column) {
  const std::string what = path.string();
  const std::string data = read_file(path);
  RECKON_CHECK(data.size() >= 10 && data.compare(0, 6, "\x93NUMPY") == 0,
               "{}: not a .npy file (bad magic bytes)", what);
  const auto major = static_cast<unsigned char>(data[6]);
  RECKON_CHECK(major >= 1 && major <= 3, "{}: .npy format version {} is not known", what, major);
  std::size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(data[8]) | (static_cast<unsigned char>(data[9]) << 8);
    start = 10;
  } else {
    RECKON_CHECK(data.size() >= 12, "{}: a truncated .npy header", what);
    std::uint32_t n;
    std::memcpy(&n, data.data() + 8, 4);
    header_len = n;
    start = 12;
  }
  RECKON_CHECK(header_len <= data.size() - start, "{}: a truncated .npy header", what);
  const std::string_view header(data.data() + start, header_len);
  const std::string_view descr = header_value(header, "descr", what);
  const bool f4 = descr == "'<f4'", f8 = descr == "'<f8'";
  RECKON_CHECK(f4 || f8, "{}: expected float32 or float64 values ('<f4' or '<f8'), got {}", what,
               excerpt(descr));
  RECKON_CHECK(header_value(header, "fortran_order", what) == "False",
               "{}: expected a C-order array (fortran_order False)", what);
  const std::string_view shape = header_value(header, "shape", what);
  std::vector<std::string_view> parts;
  split_plain(shape.substr(1, shape.size() - 2), ",", parts);
  std::vector<std::int64_t> dims;
  for (auto p : parts)
    if (!trim(p).empty()) {
      const auto v = parse_int(trim(p));
      RECKON_CHECK(v && *v > 0 && *v < (std::int64_t{1} << 40), "{}: a bad shape {}", what,
                   excerpt(shape));
      dims.push_back(*v);
    }
  RECKON_CHECK(dims.size() == 2, "{}: expected a 2-d array (items x values), got shape {}", what,
               excerpt(shape));
  const auto rows = static_cast<std::uint64_t>(dims[0]), cols = static_cast<std::uint64_t>(dims[1]);
  const std::size_t elem = f4 ? 4 : 8;
  const std::size_t body = data.size() - start - header_len;
  RECKON_CHECK(cols <= (1u << 20) && rows <= body / elem / cols && rows * cols * elem == body,
               "{}: the shape {} does not match the {} bytes of values", what, excerpt(shape),
               body);
  // The row ids.
  fs::path ids_path = path;
  ids_path.replace_extension(".ids");
  RECKON_CHECK(fs::exists(ids_path),
               "{}: a .npy file needs its row ids, one per line, in {}", what, ids_path.string());
  std::vector<std::string> row_ids;
  {
    LineReader in(ids_path);
    std::string_view line;
    while (in.next(line)) {
      RECKON_CHECK(row_ids.size() < rows, "{}: more ids than the {} rows of {}",
                   ids_path.string(), rows, what);
      row_ids.emplace_back(trim(line));
    }
  }
  RECKON_CHECK(row_ids.size() == rows, "{}: {} ids for the {} rows of {}", ids_path.string(),
               row_ids.size(), rows, what);
  FeatureColumn col(column, FeatureKind::kVector, table.rows());
  std::vector<float> values(cols);
  const char* p = data.data() + start + header_len;
  for (std::uint64_t r = 0; r < rows; ++r) {
    for (std::uint64_t c = 0; c < cols; ++c) {
      double v;
      if (f4) {
        float x;
        std::memcpy(&x, p + (r * cols + c) * 4, 4);
        v = x;
      } else {
        std::memcpy(&v, p + (r * cols + c) * 8, 8);
      }
      RECKON_CHECK(std::isfinite(v) && fits_float(v), "{}: row {} value {} is not a finite float",
                   what, r + 1, c + 1);
      values[c] = static_cast<float>(v);
    }
    if (const auto row = ids.find(row_ids[r])) col.set_vector(*row, values);
  }
  table.add(std::move(col));
}

}  // namespace reckon
