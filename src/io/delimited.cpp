// Generic delimited text (CSV, TSV, any separator) and JSON lines, with column mapping.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "readers.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/io/json.hpp"
#include "reckon/io/line_reader.hpp"
#include "reckon/io/text.hpp"

namespace reckon::detail {
namespace {

// Column names recognised without --*-col flags, compared after normalising (lowercase, no
// '_', '-', '.' or spaces: "userID", "user_id" and "User Id" are one name). First match wins.
const std::vector<std::string> kUserNames = {
    "user",     "userid",   "uid",        "session",    "sessionid", "visitorid",
    "visitor",  "customer", "customerid", "clientid",   "client",    "accountid",
    "memberid", "member",   "readerid",   "listenerid", "viewerid",  "profileid"};
const std::vector<std::string> kItemNames = {
    "item",       "itemid",    "iid",        "movie",     "movieid", "book",    "bookid",
    "track",      "trackid",   "product",    "productid", "work",    "workid",  "post",
    "postid",     "artist",    "artistid",   "song",      "songid",  "video",   "videoid",
    "article",    "articleid", "news",       "newsid",    "venue",   "venueid", "location",
    "locationid", "business",  "businessid", "asin",      "isbn",    "sku",     "goodsid",
    "contentid",  "docid",     "page",       "pageid"};
const std::vector<std::string> kRatingNames = {"rating", "score",  "value", "weight",
                                               "mark",   "stars",  "plays", "playcount",
                                               "count",  "target", "label"};
const std::vector<std::string> kTimeNames = {"timestamp", "time",       "ts",        "datetime",
                                             "date",      "eventdate",  "eventtime", "createdat",
                                             "unixtime",  "datetimeutc"};

// The form names are compared in.
std::string normalise_name(std::string_view name) {
  std::string out;
  for (char c : to_lower(name))
    if (c != '_' && c != '-' && c != '.' && c != ' ') out += c;
  return out;
}

bool is_position(std::string_view spec) {
  return !spec.empty() &&
         std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct Columns {
  int user = -1, item = -1, rating = -1, time = -1;
  std::size_t needed() const {
    return static_cast<std::size_t>(std::max({user, item, rating, time})) + 1;
  }
};

// Resolves one column: an explicit spec (name or 1-based position) or a known name. `header`
// holds the lowercased names, empty when the file has none. Returns -1 for an absent optional
// column; a missing required one is an error that names it and the flag to pass.
int resolve(const std::string& spec, const std::vector<std::string>& header,
            const std::vector<std::string>& known, const std::string& file, const char* what,
            bool required, int fallback) {
  if (!spec.empty()) {
    if (is_position(spec)) {
      const auto pos = parse_int(spec);
      RECKON_CHECK(pos && *pos >= 1 && *pos <= 100000,
                   "--{}-col: positions start at 1 (at most 100000), got {}", what, spec);
      return static_cast<int>(*pos - 1);
    }
    RECKON_CHECK(!header.empty(),
                 "{}: --{}-col names a column (\"{}\") but the file has no header line; give "
                 "its position (1, 2, ...) instead",
                 file, what, spec);
    const std::string want = to_lower(spec);
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == want) return static_cast<int>(i);
    const std::string want_norm = normalise_name(spec);
    for (std::size_t i = 0; i < header.size(); ++i)
      if (normalise_name(header[i]) == want_norm) return static_cast<int>(i);
    RECKON_CHECK(false, "{}: no column named \"{}\" for the {} (header has: {})", file, spec, what,
                 fmt::join(header, ", "));
  }
  if (header.empty()) return fallback;
  std::vector<std::string> names;
  names.reserve(header.size());
  for (const auto& h : header) names.push_back(normalise_name(h));
  for (const auto& name : known)
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return static_cast<int>(i);
  RECKON_CHECK(!required,
               "{}: no {} column: the header ({}) names none of the usual {} column names; pass "
               "--{}-col NAME or --{}-col POSITION (1-based)",
               file, what, excerpt(fmt::format("{}", fmt::join(header, ", ")), 200), what, what,
               what);
  return -1;
}

// The separator of a file from its first line: tab, "::", ',', ';', '|', else runs of spaces.
std::string guess_sep(std::string_view first_line, bool tsv) {
  if (tsv) return "\t";
  if (first_line.find('\t') != std::string_view::npos) return "\t";
  if (first_line.find("::") != std::string_view::npos) return "::";
  if (first_line.find(',') != std::string_view::npos) return ",";
  if (first_line.find(';') != std::string_view::npos) return ";";
  if (first_line.find('|') != std::string_view::npos) return "|";
  if (trim(first_line).find(' ') != std::string_view::npos) return " ";
  return ",";
}

bool looks_like_header(const std::vector<std::string>& fields, const ImportOptions& o) {
  for (const auto& field : fields) {
    const std::string f = normalise_name(field);
    for (const auto* spec : {&o.user_col, &o.item_col, &o.rating_col, &o.time_col, &o.session_col})
      if (!spec->empty() && !is_position(*spec) && normalise_name(*spec) == f) return true;
    for (const auto* names : {&kUserNames, &kItemNames, &kRatingNames, &kTimeNames})
      if (std::find(names->begin(), names->end(), f) != names->end()) return true;
  }
  return false;
}

// Space-separated files: fields are separated by runs of spaces (aligned columns).
void split_spaces(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == line.size()) break;
    const std::size_t j = std::min(line.find(' ', i), line.size());
    out.push_back(line.substr(i, j - i));
    i = j;
  }
  if (out.empty()) out.push_back({});
}

// Splits one record, joining physical lines while a quoted field is open.
bool next_record(LineReader& in, const std::string& sep, std::vector<std::string_view>& f,
                 std::string& record, std::string& scratch, std::string_view& text) {
  std::string_view line;
  if (!in.next(line)) return false;
  text = line;
  if (sep == " ") {
    split_spaces(line, f);
    return true;
  }
  if (sep.size() != 1) {
    split_plain(line, sep, f);
    return true;
  }
  if (split_csv(line, sep[0], f, scratch)) return true;
  record.assign(line);
  while (!split_csv(record, sep[0], f, scratch)) {
    if (!in.next(line)) in.fail("a closing quote before the end of the file", record);
    record += '\n';
    record.append(line);
    if (record.size() > LineReader::kDefaultMaxLine)
      in.fail_message("quoted field runs past the maximum record size");
  }
  text = record;
  return true;
}

std::string sep_name(const std::string& sep) {
  if (sep == "\t") return "tabs";
  if (sep == " ") return "spaces";
  return "'" + sep + "'";
}

void check_utf8(const LineReader& in, std::string_view field, const char* what) {
  if (const auto bad = find_invalid_utf8(field); bad != std::string_view::npos)
    in.fail(fmt::format("UTF-8 text in the {} (invalid byte at offset {})", what, bad), field);
}

}  // namespace

InteractionColumns resolve_interaction_columns(const std::vector<std::string>& names,
                                               const ImportOptions& o, const std::string& source,
                                               std::size_t width) {
  const std::string user_spec = !o.session_col.empty() ? o.session_col : o.user_col;
  InteractionColumns c;
  c.user = resolve(user_spec, names, kUserNames, source, "user", true, 0);
  c.item = resolve(o.item_col, names, kItemNames, source, "item", true, 1);
  c.rating =
      resolve(o.rating_col, names, kRatingNames, source, "rating", false, width > 2 ? 2 : -1);
  c.time = resolve(o.time_col, names, kTimeNames, source, "time", false, width > 3 ? 3 : -1);
  RECKON_CHECK(c.user != c.item, "{}: the user and item columns are the same column", source);
  return c;
}

bool read_delimited(const fs::path& file, const ImportOptions& o, bool tsv, InteractionBuilder& b) {
  LineReader in(file);
  Progress progress("import " + file.filename().string(), static_cast<double>(in.file_size()), "MB",
                    1e6);
  in.attach(&progress);
  std::string_view first;
  if (!in.next(first)) in.fail_message("empty file: expected a header or interaction lines");
  const std::string sep = o.sep.empty() ? guess_sep(first, tsv) : (o.sep == "\\t" ? "\t" : o.sep);
  std::vector<std::string_view> f;
  std::string scratch, record(first);
  if (sep == " ") {
    split_spaces(record, f);
  } else if (sep.size() == 1) {
    while (!split_csv(record, sep[0], f, scratch)) {
      std::string_view more;
      if (!in.next(more)) in.fail("a closing quote before the end of the file", record);
      record += '\n';
      record.append(more);
    }
  } else {
    split_plain(record, sep, f);
  }
  std::vector<std::string> first_fields;
  first_fields.reserve(f.size());
  for (auto x : f) first_fields.push_back(to_lower(x));
  const bool header = o.header.value_or(looks_like_header(first_fields, o));
  const std::vector<std::string> names = header ? first_fields : std::vector<std::string>{};
  const std::string file_name = file.string();
  const std::size_t width = first_fields.size();
  Columns c;
  const InteractionColumns ic = resolve_interaction_columns(names, o, file_name, width);
  c.user = ic.user;
  c.item = ic.item;
  c.rating = ic.rating;
  c.time = ic.time;
  if (width < 2)
    in.fail(fmt::format("at least 2 fields separated by {} (user and item)", sep_name(sep)), first);
  if (o.implicit) c.rating = -1;
  const std::size_t need = c.needed();

  std::string_view text = record;
  auto handle = [&]() {
    if (f.size() == 1 && trim(f[0]).empty()) return;  // blank line
    if (f.size() < need)
      in.fail(fmt::format("at least {} fields separated by {}", need, sep_name(sep)), text);
    const auto user = trim(f[c.user]);
    const auto item = trim(f[c.item]);
    if (user.empty()) in.fail(fmt::format("a user id in column {}", c.user + 1), f[c.user]);
    if (item.empty()) in.fail(fmt::format("an item id in column {}", c.item + 1), f[c.item]);
    check_utf8(in, user, "user id");
    check_utf8(in, item, "item id");
    float value = 1.0f;
    if (c.rating >= 0) {
      const auto r = parse_double(f[c.rating]);
      if (!r) in.fail(fmt::format("a numeric rating in column {}", c.rating + 1), f[c.rating]);
      if (!fits_float(*r))
        in.fail(fmt::format("a rating within float's range (+-3.4e38) in column {}", c.rating + 1),
                f[c.rating]);
      value = static_cast<float>(*r);
    }
    std::int64_t time = kNoTime;
    if (c.time >= 0) {
      auto t = parse_timestamp(f[c.time]);
      if (!t)
        in.fail(fmt::format("a timestamp (unix seconds or ISO 8601) in column {}", c.time + 1),
                f[c.time]);
      time = *t;
    }
    b.add(b.user(user), b.item(item), value, time);
  };
  b.reserve(b.size() + static_cast<std::size_t>(in.text_size() / 16));
  if (!header) handle();
  while (next_record(in, sep, f, record, scratch, text)) handle();
  progress.finish();
  return c.rating >= 0;
}

namespace {

const nlohmann::json* field(const nlohmann::json& obj, const std::string& spec,
                            const std::vector<std::string>& known) {
  if (!spec.empty()) {
    auto it = obj.find(spec);
    return it == obj.end() ? nullptr : &*it;
  }
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (std::find(known.begin(), known.end(), normalise_name(it.key())) != known.end()) return &*it;
  return nullptr;
}

std::string id_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  return {};
}

}  // namespace

bool read_jsonl(const fs::path& file, const ImportOptions& o, InteractionBuilder& b) {
  LineReader in(file);
  Progress progress("import " + file.filename().string(), static_cast<double>(in.file_size()), "MB",
                    1e6);
  in.attach(&progress);
  const std::string user_spec = !o.session_col.empty() ? o.session_col : o.user_col;
  bool any_rating = false;
  bool any_line = false;
  std::string_view line;
  while (in.next(line)) {
    if (trim(line).empty()) continue;
    any_line = true;
    std::string why;
    auto parsed = parse_json(line, &why);
    if (!parsed) in.fail(fmt::format("a JSON object ({})", why), line);
    nlohmann::json obj = std::move(*parsed);
    if (!obj.is_object()) in.fail("a JSON object", line);
    const auto* u = field(obj, user_spec, kUserNames);
    const auto* i = field(obj, o.item_col, kItemNames);
    if (!u)
      in.fail(user_spec.empty() ? "a user field (user_id, user, session_id, ...)"
                                : "field \"" + user_spec + "\"",
              line);
    if (!i)
      in.fail(o.item_col.empty() ? "an item field (item_id, item, ...)"
                                 : "field \"" + o.item_col + "\"",
              line);
    const std::string user = id_text(*u), item = id_text(*i);
    if (user.empty()) in.fail("a string or integer user id", u->dump());
    if (item.empty()) in.fail("a string or integer item id", i->dump());
    float value = 1.0f;
    if (!o.implicit) {
      if (const auto* r = field(obj, o.rating_col, kRatingNames); r && !r->is_null()) {
        std::optional<float> v;
        if (r->is_number() && fits_float(r->get<double>()))
          v = static_cast<float>(r->get<double>());
        else if (r->is_string())
          v = parse_float(r->get<std::string>());
        if (!v) in.fail("a numeric rating (finite, within +-3.4e38)", r->dump());
        value = *v;
        any_rating = true;
      }
    }
    std::int64_t time = kNoTime;
    if (const auto* t = field(obj, o.time_col, kTimeNames); t && !t->is_null()) {
      std::optional<std::int64_t> v;
      if (t->is_number_integer())
        v = parse_timestamp(t->dump());  // range-checked like text
      else if (t->is_number())
        v = parse_timestamp(fmt::format("{}", t->get<double>()));
      else if (t->is_string())
        v = parse_timestamp(t->get<std::string>());
      if (!v) in.fail("a timestamp (unix seconds or ISO 8601)", t->dump());
      time = *v;
    }
    b.add(b.user(user), b.item(item), value, time);
  }
  if (!any_line) in.fail_message("empty file: expected JSON objects, one per line");
  progress.finish();
  return any_rating;
}

}  // namespace reckon::detail
