// goodbooks-10k, both releases:
//   v2 (GitHub): ratings.csv "user_id,book_id,rating", books.csv "book_id,goodreads_book_id,..."
//   v1 (Kaggle): ratings.csv "book_id,user_id,rating", books.csv "id,book_id,..." where ratings use
//                `id` and `book_id` is the goodreads id.
// Tags: book_tags.csv "goodreads_book_id,tag_id,count" + tags.csv "tag_id,tag_name", looked up
// beside the ratings and one directory up (the v1 files are often kept in a subfolder).
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "readers.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/io/line_reader.hpp"
#include "reckon/io/text.hpp"

namespace reckon::detail {
namespace {

constexpr std::size_t kTagsPerBook = 20;

int column_of(const std::vector<std::string_view>& header, std::string_view name) {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (trim(header[i]) == name) return static_cast<int>(i);
  return -1;
}

}  // namespace

fs::path goodbooks_ratings_file(const fs::path& dir) {
  fs::path f = find_file(dir, {"ratings.csv"});
  // The v2 repository without its ratings, beside the Kaggle v1 files (as ../shared/data has it).
  if (f.empty()) f = find_file(dir / "kaggle-v1", {"ratings.csv"});
  RECKON_CHECK(!f.empty(),
               "{}: not a goodbooks-10k directory: ratings.csv (or ratings.csv.gz, here or in "
               "kaggle-v1/) is missing",
               dir.string());
  return f;
}

void read_goodbooks_ratings(const fs::path& file, InteractionBuilder& b) {
  LineReader in(file);
  Progress progress("import " + file.filename().string(), static_cast<double>(in.file_size()), "MB",
                    1e6);
  in.attach(&progress);
  std::string_view line;
  std::vector<std::string_view> f;
  if (!in.next(line))
    in.fail("a header \"user_id,book_id,rating\" or \"book_id,user_id,rating\"", "");
  split_plain(line, ",", f);
  const int ucol = column_of(f, "user_id");
  const int bcol = column_of(f, "book_id");
  const int rcol = column_of(f, "rating");
  if (ucol < 0 || bcol < 0 || rcol < 0) in.fail("a header with user_id, book_id and rating", line);
  const std::size_t need = static_cast<std::size_t>(std::max({ucol, bcol, rcol})) + 1;
  b.reserve(b.size() + static_cast<std::size_t>(in.text_size() / 10));
  while (in.next(line)) {
    if (line.empty()) continue;
    split_plain(line, ",", f);
    if (f.size() < need) in.fail(fmt::format("{} comma-separated fields", need), line);
    auto rating = parse_float(f[rcol]);
    if (!rating) in.fail("a numeric rating", f[rcol]);
    const auto user = trim(f[ucol]);
    const auto book = trim(f[bcol]);
    if (user.empty() || book.empty()) in.fail("a user_id and a book_id", line);
    b.add(b.user(user), b.item(book), static_cast<float>(*rating));
  }
  progress.finish();
}

void read_goodbooks_metadata(const fs::path& dir, Dataset& d) {
  std::vector<std::string_view> f;
  std::string scratch;
  std::string_view line;
  // goodreads id -> our item row, to attach tags.
  std::unordered_map<std::string, index_t> by_goodreads;
  if (fs::path bfile = find_file(dir, {"books.csv"}); !bfile.empty()) {
    LineReader in(bfile);
    if (!in.next(line) || !split_csv(line, ',', f, scratch)) in.fail("a books.csv header", line);
    const bool v1 = column_of(f, "id") == 0;
    const int id_col = v1 ? column_of(f, "id") : column_of(f, "book_id");
    const int gr_col = v1 ? column_of(f, "book_id") : column_of(f, "goodreads_book_id");
    const int title_col = column_of(f, "title");
    const int authors_col = column_of(f, "authors");
    const int year_col = column_of(f, "original_publication_year");
    const int lang_col = column_of(f, "language_code");
    const int avg_col = column_of(f, "average_rating");
    if (id_col < 0 || title_col < 0)
      in.fail("a books.csv header with book_id (or id) and title", line);
    auto& title = d.item_features.column("title", FeatureKind::kText);
    auto& authors = d.item_features.column("authors", FeatureKind::kMultiCategorical);
    auto& year = d.item_features.column("year", FeatureKind::kNumeric);
    auto& lang = d.item_features.column("language", FeatureKind::kCategorical);
    auto& avg = d.item_features.column("average_rating", FeatureKind::kNumeric);
    std::string record;
    while (in.next(line)) {
      record.assign(line);
      // A quoted title may contain a line break: join lines until the quotes close.
      while (!split_csv(record, ',', f, scratch)) {
        if (!in.next(line)) in.fail("a closing quote", record);
        record += '\n';
        record.append(line);
      }
      if (record.empty()) continue;
      const auto at = [&](int c) {
        return c >= 0 && c < static_cast<int>(f.size()) ? f[c] : std::string_view{};
      };
      auto row = d.items.find(trim(at(id_col)));
      if (!row) continue;
      if (gr_col >= 0) by_goodreads.emplace(std::string(trim(at(gr_col))), *row);
      title.set_text(*row, std::string(at(title_col)));
      std::vector<std::string_view> names;
      split_plain(at(authors_col), ",", names);
      for (auto a : names)
        if (!trim(a).empty()) authors.add_label(*row, trim(a));
      if (auto y = parse_float(at(year_col))) year.set_number(*row, static_cast<float>(*y));
      if (!trim(at(lang_col)).empty()) lang.add_label(*row, trim(at(lang_col)));
      if (auto a = parse_float(at(avg_col))) avg.set_number(*row, static_cast<float>(*a));
    }
  }
  if (by_goodreads.empty()) return;
  fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path("..");
  fs::path tags_file = find_file(dir, {"tags.csv"});
  fs::path book_tags_file = find_file(dir, {"book_tags.csv"});
  if (tags_file.empty() || book_tags_file.empty()) {
    tags_file = find_file(parent, {"tags.csv"});
    book_tags_file = find_file(parent, {"book_tags.csv"});
  }
  if (tags_file.empty() || book_tags_file.empty()) return;
  std::unordered_map<std::string, std::string> tag_names;
  {
    LineReader in(tags_file);
    while (in.next(line)) {
      if (in.line_number() == 1 || line.empty()) continue;
      if (!split_csv(line, ',', f, scratch) || f.size() != 2) in.fail("tag_id,tag_name", line);
      tag_names.emplace(std::string(trim(f[0])), std::string(trim(f[1])));
    }
  }
  // Keep each book's most used tags.
  std::vector<std::vector<std::pair<std::int64_t, std::string>>> per_book(
      static_cast<std::size_t>(d.num_items()));
  {
    LineReader in(book_tags_file);
    Progress progress("import book_tags", static_cast<double>(in.file_size()), "MB", 1e6);
    in.attach(&progress);
    while (in.next(line)) {
      if (in.line_number() == 1 || line.empty()) continue;
      split_plain(line, ",", f);
      if (f.size() != 3) in.fail("goodreads_book_id,tag_id,count", line);
      auto book = by_goodreads.find(std::string(trim(f[0])));
      if (book == by_goodreads.end()) continue;
      auto count = parse_int(f[2]);
      if (!count) in.fail("an integer count in field 3", f[2]);
      auto name = tag_names.find(std::string(trim(f[1])));
      if (name == tag_names.end()) continue;
      per_book[book->second].emplace_back(*count, name->second);
    }
  }
  auto& tags = d.item_features.column("tags", FeatureKind::kMultiCategorical);
  for (std::size_t i = 0; i < per_book.size(); ++i) {
    auto& v = per_book[i];
    std::stable_sort(v.begin(), v.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    // Each tag weighs 1 + ln(count): how many readers shelved the book so, taken sublinearly
    // (counts run from 1 to over 100,000), as term frequencies are.
    for (std::size_t k = 0; k < v.size() && k < kTagsPerBook; ++k)
      tags.add_label(static_cast<index_t>(i), v[k].second,
                     1.0f + std::log(static_cast<float>(std::max<std::int64_t>(1, v[k].first))));
  }
}

}  // namespace reckon::detail
