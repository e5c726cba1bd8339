// MovieLens in its four layouts:
//   100K:     u.data (tab: user item rating time), u.item (|), u.user (|), u.genre (|)
//   1M/10M:   ratings.dat (user::item::rating[::time]), movies.dat (id::title::genres),
//             users.dat (1M: id::gender::age::occupation::zip), tags.dat (10M)
//   20M/25M:  ratings.csv (userId,movieId,rating,timestamp), movies.csv, tags.csv
#include <array>
#include <map>

#include "readers.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/io/line_reader.hpp"
#include "reckon/io/text.hpp"

namespace reckon::detail {
namespace {

// The ML-1M README's occupation codes.
constexpr std::array<const char*, 21> kMl1mOccupations = {"other",
                                                          "academic/educator",
                                                          "artist",
                                                          "clerical/admin",
                                                          "college/grad student",
                                                          "customer service",
                                                          "doctor/health care",
                                                          "executive/managerial",
                                                          "farmer",
                                                          "homemaker",
                                                          "K-12 student",
                                                          "lawyer",
                                                          "programmer",
                                                          "retired",
                                                          "sales/marketing",
                                                          "scientist",
                                                          "self-employed",
                                                          "technician/engineer",
                                                          "tradesman/craftsman",
                                                          "unemployed",
                                                          "writer"};

// MovieLens titles are Latin-1 in 100K/1M and UTF-8 later; keep valid UTF-8, convert the rest.
std::string movielens_text(std::string_view s) {
  if (find_invalid_utf8(s) == std::string_view::npos) return std::string(s);
  return latin1_to_utf8(s);
}

// "Toy Story (1995)" -> 1995; NaN when the title has no year.
float title_year(std::string_view title) {
  title = trim(title);
  if (title.size() >= 6 && title.back() == ')' && title[title.size() - 6] == '(') {
    if (auto y = parse_int(title.substr(title.size() - 5, 4))) return static_cast<float>(*y);
  }
  return std::numeric_limits<float>::quiet_NaN();
}

bool is_100k_file(const fs::path& file);

std::string sibling_sep(const fs::path& file) {
  if (is_100k_file(file)) return "\t";
  const std::string name = file.filename().string();
  if (name.find(".dat") != std::string::npos) return "::";
  if (name.find(".csv") != std::string::npos) return ",";
  return "\t";
}

bool is_100k_file(const fs::path& file) {
  const std::string name = file.filename().string();
  return name == "u.data" || name.ends_with(".base") || name.ends_with(".test");
}

// The demographic columns every MovieLens release with user data has.
struct UserColumns {
  FeatureColumn& age;
  FeatureColumn& gender;
  FeatureColumn& occupation;
  FeatureColumn& zip;
  explicit UserColumns(Dataset& d)
      : age(d.user_features.column("age", FeatureKind::kNumeric)),
        gender(d.user_features.column("gender", FeatureKind::kCategorical)),
        occupation(d.user_features.column("occupation", FeatureKind::kCategorical)),
        zip(d.user_features.column("zip", FeatureKind::kCategorical)) {}
  void set(index_t row, float a, std::string_view g, std::string_view occ, std::string_view z) {
    age.set_number(row, a);
    gender.add_label(row, trim(g));
    occupation.add_label(row, trim(occ));
    zip.add_label(row, trim(z));
  }
};

// Title (UTF-8), the year from the title, and genres.
struct MovieColumns {
  FeatureColumn& title;
  FeatureColumn& year;
  FeatureColumn& genres;
  explicit MovieColumns(Dataset& d)
      : title(d.item_features.column("title", FeatureKind::kText)),
        year(d.item_features.column("year", FeatureKind::kNumeric)),
        genres(d.item_features.column("genres", FeatureKind::kMultiCategorical)) {}
  void set_title(index_t row, std::string_view raw) {
    std::string t = movielens_text(raw);
    year.set_number(row, title_year(t));
    title.set_text(row, std::move(t));
  }
  // `list` is '|'-separated, as in movies.dat and movies.csv.
  void add_genres(index_t row, std::string_view list) {
    std::vector<std::string_view> g;
    split_plain(list, "|", g);
    for (auto x : g)
      if (!trim(x).empty() && trim(x) != "(no genres listed)") genres.add_label(row, trim(x));
  }
};

}  // namespace

fs::path find_file(const fs::path& dir, std::initializer_list<const char*> names) {
  std::error_code ec;
  for (const char* n : names) {
    if (fs::is_regular_file(dir / n, ec)) return dir / n;
    if (fs::is_regular_file(dir / (std::string(n) + ".gz"), ec))
      return dir / (std::string(n) + ".gz");
  }
  return {};
}

fs::path movielens_ratings_file(const fs::path& dir) {
  fs::path f = find_file(dir, {"u.data", "ratings.dat", "ratings.csv"});
  RECKON_CHECK(!f.empty(),
               "{}: not a MovieLens directory: expected u.data (100K), ratings.dat (1M/10M) or "
               "ratings.csv (20M/25M), found none of them",
               dir.string());
  return f;
}

void read_movielens_ratings(const fs::path& file, InteractionBuilder& b) {
  LineReader in(file);
  Progress progress("import " + file.filename().string(), static_cast<double>(in.file_size()), "MB",
                    1e6);
  in.attach(&progress);
  const std::string sep = sibling_sep(file);
  const bool csv = sep == ",";
  std::vector<std::string_view> f;
  std::string_view line;
  b.reserve(static_cast<std::size_t>(in.text_size() / 16));
  while (in.next(line)) {
    if (line.empty()) continue;
    split_plain(line, sep, f);
    if (csv && in.line_number() == 1 && !f.empty() && trim(f[0]) == "userId") continue;
    if (f.size() < 3 || f.size() > 4)
      in.fail(fmt::format("3 or 4 fields (user{0}item{0}rating{0}timestamp)",
                          sep == "\t" ? "<TAB>" : sep),
              line);
    auto rating = parse_float(f[2]);
    if (!rating) in.fail("a numeric rating in field 3", f[2]);
    std::int64_t time = kNoTime;
    if (f.size() == 4) {
      auto t = parse_int(f[3]);
      if (!t || *t < -kMaxTimestamp || *t > kMaxTimestamp)
        in.fail("an integer unix timestamp in field 4", f[3]);
      time = *t;
    }
    const auto user = trim(f[0]);
    const auto item = trim(f[1]);
    if (user.empty()) in.fail("a user id in field 1", line);
    if (item.empty()) in.fail("an item id in field 2", line);
    b.add(b.user(user), b.item(item), static_cast<float>(*rating), time);
  }
  progress.finish();
}

namespace {

void read_100k_metadata(const fs::path& dir, Dataset& d) {
  // Genre names by column position, from u.genre ("name|id").
  std::vector<std::string> genres;
  if (fs::path gfile = find_file(dir, {"u.genre"}); !gfile.empty()) {
    LineReader in(gfile);
    std::string_view line;
    std::vector<std::string_view> f;
    while (in.next(line)) {
      if (trim(line).empty()) continue;
      split_plain(line, "|", f);
      if (f.size() != 2) in.fail("genre|id", line);
      auto id = parse_int(f[1]);
      if (!id || *id < 0 || *id > 100) in.fail("a genre id", f[1]);
      if (genres.size() <= static_cast<std::size_t>(*id)) genres.resize(*id + 1);
      genres[*id] = std::string(f[0]);
    }
  }
  if (fs::path ifile = find_file(dir, {"u.item"}); !ifile.empty()) {
    LineReader in(ifile);
    MovieColumns movies(d);
    auto& url = d.item_features.column("imdb_url", FeatureKind::kText);
    std::string_view line;
    std::vector<std::string_view> f;
    while (in.next(line)) {
      if (line.empty()) continue;
      split_plain(line, "|", f);
      if (f.size() < 5)
        in.fail("id|title|release date|video release date|IMDb URL|genre flags", line);
      auto row = d.items.find(trim(f[0]));
      if (!row) continue;  // a movie nobody rated
      movies.set_title(*row, f[1]);
      url.set_text(*row, movielens_text(f[4]));
      for (std::size_t g = 5; g < f.size(); ++g) {
        if (trim(f[g]) == "1")
          movies.genres.add_label(
              *row, g - 5 < genres.size() ? genres[g - 5] : fmt::format("genre{}", g - 5));
      }
    }
  }
  if (fs::path ufile = find_file(dir, {"u.user"}); !ufile.empty()) {
    LineReader in(ufile);
    UserColumns users(d);
    std::string_view line;
    std::vector<std::string_view> f;
    while (in.next(line)) {
      if (line.empty()) continue;
      split_plain(line, "|", f);
      if (f.size() != 5) in.fail("id|age|gender|occupation|zip", line);
      auto row = d.users.find(trim(f[0]));
      if (!row) continue;
      auto a = parse_int(f[1]);
      if (!a) in.fail("an integer age in field 2", f[1]);
      users.set(*row, static_cast<float>(*a), f[2], f[3], f[4]);
    }
  }
}

void read_dat_metadata(const fs::path& dir, Dataset& d) {
  if (fs::path mfile = find_file(dir, {"movies.dat"}); !mfile.empty()) {
    LineReader in(mfile);
    MovieColumns movies(d);
    std::string_view line;
    std::vector<std::string_view> f;
    while (in.next(line)) {
      if (line.empty()) continue;
      split_plain(line, "::", f);
      if (f.size() != 3) in.fail("MovieID::Title::Genres", line);
      auto row = d.items.find(trim(f[0]));
      if (!row) continue;
      movies.set_title(*row, f[1]);
      movies.add_genres(*row, f[2]);
    }
  }
  if (fs::path ufile = find_file(dir, {"users.dat"}); !ufile.empty()) {
    LineReader in(ufile);
    UserColumns users(d);
    std::string_view line;
    std::vector<std::string_view> f;
    while (in.next(line)) {
      if (line.empty()) continue;
      split_plain(line, "::", f);
      if (f.size() != 5) in.fail("UserID::Gender::Age::Occupation::Zip-code", line);
      auto row = d.users.find(trim(f[0]));
      if (!row) continue;
      auto a = parse_int(f[2]);
      if (!a) in.fail("an age code in field 3", f[2]);
      auto occ = parse_int(f[3]);
      if (!occ || *occ < 0 || *occ >= static_cast<std::int64_t>(kMl1mOccupations.size()))
        in.fail("an occupation code 0-20 in field 4", f[3]);
      // Age codes are the lower bounds of the README's ranges (1 = under 18).
      users.set(*row, static_cast<float>(*a), f[1], kMl1mOccupations[*occ], f[4]);
    }
  }
  if (fs::path tfile = find_file(dir, {"tags.dat"}); !tfile.empty()) {
    LineReader in(tfile);
    auto& tags = d.item_features.column("tags", FeatureKind::kMultiCategorical);
    std::string_view line;
    std::vector<std::string_view> f;
    while (in.next(line)) {
      if (line.empty()) continue;
      split_plain(line, "::", f);
      if (f.size() != 4) in.fail("UserID::MovieID::Tag::Timestamp", line);
      if (auto row = d.items.find(trim(f[1]))) tags.add_label(*row, movielens_text(trim(f[2])));
    }
  }
}

void read_csv_metadata(const fs::path& dir, Dataset& d) {
  std::vector<std::string_view> f;
  std::string scratch;
  if (fs::path mfile = find_file(dir, {"movies.csv"}); !mfile.empty()) {
    LineReader in(mfile);
    MovieColumns movies(d);
    std::string_view line;
    while (in.next(line)) {
      if (line.empty() || in.line_number() == 1) continue;
      if (!split_csv(line, ',', f, scratch) || f.size() != 3) in.fail("movieId,title,genres", line);
      auto row = d.items.find(trim(f[0]));
      if (!row) continue;
      movies.set_title(*row, f[1]);
      movies.add_genres(*row, f[2]);
    }
  }
  if (fs::path tfile = find_file(dir, {"tags.csv"}); !tfile.empty()) {
    LineReader in(tfile);
    auto& tags = d.item_features.column("tags", FeatureKind::kMultiCategorical);
    std::string_view line;
    while (in.next(line)) {
      if (line.empty() || in.line_number() == 1) continue;
      if (!split_csv(line, ',', f, scratch) || f.size() != 4)
        in.fail("userId,movieId,tag,timestamp", line);
      if (auto row = d.items.find(trim(f[1]))) tags.add_label(*row, movielens_text(trim(f[2])));
    }
  }
}

}  // namespace

void read_movielens_metadata(const fs::path& ratings_file, Dataset& d) {
  const fs::path dir = ratings_file.has_parent_path() ? ratings_file.parent_path() : ".";
  if (is_100k_file(ratings_file)) {
    read_100k_metadata(dir, d);
  } else if (sibling_sep(ratings_file) == "::") {
    read_dat_metadata(dir, d);
  } else {
    read_csv_metadata(dir, d);
  }
}

}  // namespace reckon::detail
