// Item/user metadata files (--items, --users): a delimited file with a header, or JSON lines,
// keyed by an id column. Column kinds are inferred from the values.
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "readers.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/json.hpp"
#include "reckon/io/line_reader.hpp"
#include "reckon/io/text.hpp"

namespace reckon {
namespace {
namespace fs = std::filesystem;

const std::vector<std::string> kIdNames = {
    "id",     "item_id", "itemid", "movieid",  "movie_id", "book_id",   "user_id",
    "userid", "item",    "user",   "track_id", "post_id",  "product_id"};
const std::vector<std::string> kTextNames = {"title", "name",    "text",    "description",
                                             "body",  "content", "summary", "overview"};

// Raw values of one column, per row of the id map ("" = missing); lists keep '|' separators.
struct RawColumn {
  std::string name;
  std::vector<std::string> values;
  bool forced_multi = false;  // JSON arrays
  bool number_arrays = true;  // every value given is a JSON array of numbers (an embedding)
};

FeatureKind infer_kind(const RawColumn& c) {
  std::size_t present = 0, numeric = 0, with_bar = 0, total_len = 0;
  for (const auto& v : c.values) {
    if (v.empty()) continue;
    ++present;
    total_len += v.size();
    if (parse_float(v)) ++numeric;
    if (v.find('|') != std::string::npos) ++with_bar;
  }
  if (c.forced_multi && c.number_arrays && present > 0) return FeatureKind::kVector;
  if (c.forced_multi || (with_bar > 0 && with_bar * 10 >= present))
    return FeatureKind::kMultiCategorical;
  if (present > 0 && numeric == present) return FeatureKind::kNumeric;
  if (std::find(kTextNames.begin(), kTextNames.end(), to_lower(c.name)) != kTextNames.end())
    return FeatureKind::kText;
  if (present > 0 && total_len / present > 40) return FeatureKind::kText;
  return FeatureKind::kCategorical;
}

void add_columns(std::vector<RawColumn>& raw, FeatureTable& table) {
  for (auto& c : raw) {
    const FeatureKind kind = infer_kind(c);
    FeatureColumn col(c.name, kind, table.rows());
    for (index_t r = 0; r < table.rows(); ++r) {
      const std::string& v = c.values[r];
      if (v.empty()) continue;
      switch (kind) {
        case FeatureKind::kNumeric:
          col.set_number(r, *parse_float(v));
          break;
        case FeatureKind::kCategorical:
          col.add_label(r, trim(v));
          break;
        case FeatureKind::kMultiCategorical: {
          std::vector<std::string_view> parts;
          split_plain(v, "|", parts);
          for (auto p : parts)
            if (!trim(p).empty()) col.add_label(r, trim(p));
          break;
        }
        case FeatureKind::kText:
          col.set_text(r, v);
          break;
        case FeatureKind::kVector: {
          std::vector<std::string_view> parts;
          split_plain(v, "|", parts);
          std::vector<float> values;
          for (auto p : parts) values.push_back(parse_float(p).value_or(0.0f));
          col.set_vector(r, values);  // a length unlike the others: an error naming the column
          break;
        }
      }
    }
    table.add(std::move(col));
  }
}

void read_delimited_metadata(const fs::path& path, const IdMap& ids, FeatureTable& table,
                             const ImportOptions& o, std::string_view id_column) {
  LineReader in(path);
  std::string_view line;
  if (!in.next(line)) in.fail_message("empty file: expected a header line naming the columns");
  std::string sep = o.sep == "\\t" ? "\t" : o.sep;
  if (sep.empty()) {
    const std::string name = path.string();
    const bool tabs =
        name.find(".tsv") != std::string::npos || line.find('\t') != std::string_view::npos;
    sep.assign(1, tabs ? '\t' : ',');
  }
  std::vector<std::string_view> f;
  std::string scratch;
  if (sep.size() == 1 ? !split_csv(line, sep[0], f, scratch) : (split_plain(line, sep, f), false))
    in.fail("a header line", line);
  std::vector<std::string> header;
  for (auto x : f) header.emplace_back(trim(x));
  int id_col = 0;
  if (!id_column.empty()) {
    const auto named = std::find_if(header.begin(), header.end(), [&](const std::string& h) {
      return to_lower(h) == to_lower(id_column);
    });
    const auto position = parse_int(id_column);
    if (named != header.end()) {
      id_col = static_cast<int>(named - header.begin());
    } else if (position && *position >= 1 &&
               *position <= static_cast<std::int64_t>(header.size())) {
      id_col = static_cast<int>(*position - 1);
    } else {
      throw InvalidInput(fmt::format("{}:1: no id column \"{}\" (columns: {})", path.string(),
                                     excerpt(id_column),
                                     excerpt(fmt::format("{}", fmt::join(header, ", ")), 200)));
    }
  } else {
    for (const auto& name : kIdNames) {
      auto it = std::find_if(header.begin(), header.end(),
                             [&](const std::string& h) { return to_lower(h) == name; });
      if (it != header.end()) {
        id_col = static_cast<int>(it - header.begin());
        break;
      }
    }
  }
  std::vector<RawColumn> raw;
  std::vector<int> source_col;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (static_cast<int>(i) == id_col) continue;
    RECKON_CHECK(!header[i].empty(), "{}:1: expected a name for column {}", path.string(), i + 1);
    raw.push_back(
        {header[i], std::vector<std::string>(static_cast<std::size_t>(ids.size())), false});
    source_col.push_back(static_cast<int>(i));
  }
  std::string record;
  while (in.next(line)) {
    if (trim(line).empty()) continue;
    record.assign(line);
    if (sep.size() == 1) {
      while (!split_csv(record, sep[0], f, scratch)) {
        if (!in.next(line)) in.fail("a closing quote before the end of the file", record);
        record += '\n';
        record.append(line);
      }
    } else {
      split_plain(record, sep, f);
    }
    if (f.size() != header.size())
      in.fail(fmt::format("{} fields as in the header", header.size()), record);
    auto row = ids.find(trim(f[id_col]));
    if (!row) continue;
    for (std::size_t k = 0; k < raw.size(); ++k) {
      std::string_view v = f[source_col[k]];
      if (const auto bad = find_invalid_utf8(v); bad != std::string_view::npos)
        in.fail(fmt::format("UTF-8 text in column \"{}\"", raw[k].name), v);
      raw[k].values[*row] = std::string(v);
    }
  }
  add_columns(raw, table);
}

// JSON metadata: one object per line (JSON lines), or one array of objects (a .json export),
// told apart by the first non-blank character.
void read_json_metadata(const fs::path& path, const IdMap& ids, FeatureTable& table,
                        const ImportOptions& o, std::string_view id_column) {
  // The id key: the one named, else the first known id name an object has.
  const std::vector<std::string> id_names =
      id_column.empty() ? kIdNames : std::vector<std::string>{to_lower(id_column)};
  const std::string want_id = id_column.empty() ? std::string("an \"id\" or \"item_id\" field")
                                                : fmt::format("a \"{}\" field", excerpt(id_column));
  std::map<std::string, RawColumn> columns;
  std::vector<std::string> order;
  // One object's values; returns false when it has no id.
  auto take = [&](const nlohmann::json& obj) {
    std::string id;
    for (const auto& name : id_names) {
      for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (to_lower(it.key()) != name) continue;
        id = it->is_string() ? it->get<std::string>() : it->dump();
        break;
      }
      if (!id.empty()) break;
    }
    if (id.empty()) return false;
    auto row = ids.find(id);
    if (!row) return true;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (std::find(id_names.begin(), id_names.end(), to_lower(it.key())) != id_names.end())
        continue;
      auto [c, inserted] = columns.try_emplace(it.key());
      if (inserted) {
        c->second.name = it.key();
        c->second.values.resize(static_cast<std::size_t>(ids.size()));
        order.push_back(it.key());
      }
      std::string value;
      if (it->is_array()) {
        c->second.forced_multi = true;
        bool numbers = !it->empty();
        for (const auto& x : *it) numbers = numbers && x.is_number() && fits_float(x.get<double>());
        if (!numbers) c->second.number_arrays = false;
        for (const auto& x : *it) {
          if (!value.empty()) value += '|';
          value += x.is_string() ? x.get<std::string>() : x.dump();
        }
      } else if (it->is_string()) {
        value = it->get<std::string>();
        c->second.number_arrays = false;
      } else if (!it->is_null()) {
        value = it->dump();
        c->second.number_arrays = false;
      }
      c->second.values[*row] = std::move(value);
    }
    return true;
  };

  bool array = false;
  {
    LineReader first(path);
    std::string_view line;
    while (first.next(line))
      if (!trim(line).empty()) {
        array = trim(line).starts_with('[');
        break;
      }
  }
  LineReader in(path);
  std::string_view line;
  if (array) {
    // The whole document is parsed at once (depth-bounded), so its size is bounded by the
    // import's memory budget: a JSON tree takes several times its text.
    const std::size_t budget = (o.max_memory > 0 ? o.max_memory : default_import_memory()) / 8;
    std::string text;
    while (in.next(line)) {
      text.append(line);
      text.push_back('\n');
      RECKON_CHECK(text.size() <= budget,
                   "{}: a JSON array of more than {} MB; give it as JSON lines (one object per "
                   "line) or raise --max-memory",
                   path.string(), budget / 1000000);
    }
    std::string why;
    const auto doc = parse_json(text, &why);
    RECKON_CHECK(doc.has_value(), "{}: expected a JSON array of objects ({})", path.string(), why);
    RECKON_CHECK(doc->is_array(), "{}: expected a JSON array of objects", path.string());
    for (std::size_t k = 0; k < doc->size(); ++k) {
      const auto& obj = (*doc)[k];
      RECKON_CHECK(obj.is_object(), "{}: element {} of the array: expected a JSON object",
                   path.string(), k + 1);
      RECKON_CHECK(take(obj), "{}: element {} of the array: expected {}", path.string(), k + 1,
                   want_id);
    }
  } else {
    while (in.next(line)) {
      if (trim(line).empty()) continue;
      std::string why;
      auto parsed = parse_json(line, &why);
      if (!parsed) in.fail(fmt::format("a JSON object ({})", why), line);
      if (!parsed->is_object()) in.fail("a JSON object", line);
      if (!take(*parsed)) in.fail(want_id, line);
    }
  }
  std::vector<RawColumn> raw;
  for (const auto& name : order) raw.push_back(std::move(columns[name]));
  add_columns(raw, table);
}

}  // namespace

void read_item_vectors(const fs::path& path, const IdMap& ids, FeatureTable& table,
                       const std::string& column) {
  // One item per line: its id, then its floats, separated by spaces, tabs or commas.
  LineReader in(path);
  std::string_view line;
  std::vector<std::string_view> parts;
  std::vector<float> values;
  FeatureColumn col(column, FeatureKind::kVector, table.rows());
  index_t dim = 0;
  while (in.next(line)) {
    const std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    std::string normal(l);
    std::replace(normal.begin(), normal.end(), '\t', ' ');
    std::replace(normal.begin(), normal.end(), ',', ' ');
    split_plain(normal, " ", parts);
    parts.erase(std::remove_if(parts.begin(), parts.end(),
                               [](std::string_view p) { return trim(p).empty(); }),
                parts.end());
    if (parts.size() < 2) in.fail("an id and at least one number", line);
    values.clear();
    for (std::size_t k = 1; k < parts.size(); ++k) {
      const auto v = parse_float(trim(parts[k]));
      if (!v || !std::isfinite(*v))
        in.fail(fmt::format("a number for value {} of the vector", k), line);
      values.push_back(*v);
    }
    if (dim == 0) dim = static_cast<index_t>(values.size());
    if (static_cast<index_t>(values.size()) != dim)
      in.fail(fmt::format("{} numbers after the id, as on the first line", dim), line);
    const auto row = ids.find(trim(parts[0]));
    if (!row) continue;  // an item outside the interactions
    col.set_vector(*row, values);
  }
  RECKON_CHECK(dim > 0, "{}: no vectors (expected lines of an id and numbers)", path.string());
  table.add(std::move(col));
}

void read_metadata(const fs::path& path, const IdMap& ids, FeatureTable& table,
                   const ImportOptions& options, std::string_view id_column) {
  if (table.rows() != ids.size()) table = FeatureTable(ids.size());
  std::string name = path.filename().string();
  if (name.ends_with(".gz")) name.resize(name.size() - 3);
  if (name.ends_with(".jsonl") || name.ends_with(".json") || name.ends_with(".ndjson")) {
    read_json_metadata(path, ids, table, options, id_column);
  } else {
    read_delimited_metadata(path, ids, table, options, id_column);
  }
}

}  // namespace reckon
