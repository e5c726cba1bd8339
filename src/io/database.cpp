// Database sources: SQLite and PostgreSQL queries streamed into an InteractionBuilder, and the
// service's event store read back as training data.
#include "reckon/io/database.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "readers.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/io/interaction_builder.hpp"
#include "reckon/io/text.hpp"

namespace reckon {
namespace {

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view p) { return s.starts_with(p); });
}
bool is_postgres(std::string_view s) {
  return starts_with_any(s, {"postgresql://", "postgres://"});
}

// sqlite:///abs/path.db -> /abs/path.db, sqlite://rel.db and sqlite:rel.db -> rel.db.
std::string sqlite_path(const std::string& source) {
  if (!source.starts_with("sqlite:")) return source;
  std::string rest = source.substr(7);
  if (rest.starts_with("//")) rest = rest.substr(2);
  RECKON_CHECK(!rest.empty(), "{}: no file in the URL (expected sqlite:///path/to/file.db)",
               source);
  return rest;
}

// A streamed result: column names, then rows of nullable text fields (valid until the next row).
class Rows {
 public:
  virtual ~Rows() = default;
  const std::vector<std::string>& names() const { return names_; }
  virtual bool next(std::vector<std::optional<std::string_view>>& fields) = 0;

 protected:
  std::vector<std::string> names_;
};

class SqliteRows final : public Rows {
 public:
  SqliteRows(const std::string& source, const std::string& sql) : source_(source) {
    const std::string path = sqlite_path(source);
    if (!is_sqlite_file(path)) {
      std::error_code ec;
      throw IoError(fmt::format("{}: {}", source,
                                std::filesystem::exists(path, ec)
                                    ? "not an SQLite database"
                                    : "no such file"));
    }
    // Read-only: an import never changes the database, and a server writing to it (WAL) can
    // go on while it is read.
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw IoError(fmt::format("{}: cannot open: {}", source, why));
    }
    sqlite3_busy_timeout(db_, 10000);
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt_, &tail) !=
        SQLITE_OK) {
      const std::string why = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      throw InvalidInput(fmt::format("{}: the query \"{}\" fails: {}", source, excerpt(sql), why));
    }
    if (!stmt_ || (tail && !trim(tail).empty()) || !sqlite3_stmt_readonly(stmt_)) {
      sqlite3_finalize(stmt_);
      sqlite3_close(db_);
      throw InvalidInput(fmt::format("{}: expected one SELECT statement, got \"{}\"", source,
                                     excerpt(sql)));
    }
    const int n = sqlite3_column_count(stmt_);
    for (int i = 0; i < n; ++i) {
      const char* name = sqlite3_column_name(stmt_, i);
      names_.emplace_back(name ? name : "");
    }
  }
  ~SqliteRows() override {
    sqlite3_finalize(stmt_);
    sqlite3_close(db_);
  }
  bool next(std::vector<std::optional<std::string_view>>& fields) override {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_DONE) return false;
    if (rc != SQLITE_ROW)
      throw IoError(fmt::format("{}: reading failed: {}", source_, sqlite3_errmsg(db_)));
    fields.resize(names_.size());
    for (int i = 0; i < static_cast<int>(names_.size()); ++i) {
      if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) {
        fields[static_cast<std::size_t>(i)].reset();
        continue;
      }
      const auto* p = sqlite3_column_text(stmt_, i);
      fields[static_cast<std::size_t>(i)] =
          std::string_view(p ? reinterpret_cast<const char*>(p) : "",
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
    }
    return true;
  }

 private:
  std::string source_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// A server-side cursor in a read-only transaction, fetched in batches: memory holds one batch.
std::string one_line(std::string_view what);

class PostgresRows final : public Rows {
 public:
  static constexpr int kBatch = 20000;
  PostgresRows(const std::string& url, const std::string& sql) : shown_(without_password(url)) {
    try {
      conn_ = std::make_unique<pqxx::connection>(url);
    } catch (const std::exception& e) {
      throw IoError(fmt::format("{}: cannot connect: {}", shown_, one_line(e.what())));
    }
    try {
      tx_ = std::make_unique<pqxx::read_transaction>(*conn_);
      tx_->exec("DECLARE reckon_import NO SCROLL CURSOR FOR " + sql);
      fetch();
    } catch (const pqxx::sql_error& e) {
      throw InvalidInput(
          fmt::format("{}: the query \"{}\" fails: {}", shown_, excerpt(sql), one_line(e.what())));
    } catch (const std::exception& e) {
      throw IoError(fmt::format("{}: {}", shown_, one_line(e.what())));
    }
    for (pqxx::row::size_type i = 0; i < batch_.columns(); ++i)
      names_.emplace_back(batch_.column_name(i));
  }
  bool next(std::vector<std::optional<std::string_view>>& fields) override {
    if (row_ >= batch_.size()) {
      if (batch_.size() < static_cast<pqxx::result::size_type>(kBatch)) return false;
      try {
        fetch();
      } catch (const std::exception& e) {
        throw IoError(fmt::format("{}: reading failed: {}", shown_, one_line(e.what())));
      }
      if (batch_.empty()) return false;
    }
    const auto r = batch_[static_cast<pqxx::result::size_type>(row_++)];
    fields.resize(names_.size());
    for (std::size_t i = 0; i < names_.size(); ++i) {
      const auto f = r[static_cast<pqxx::row::size_type>(i)];
      if (f.is_null())
        fields[i].reset();
      else
        fields[i] = std::string_view(f.c_str(), f.size());
    }
    return true;
  }

 private:
  void fetch() {
    batch_ = tx_->exec(fmt::format("FETCH FORWARD {} FROM reckon_import", kBatch));
    row_ = 0;
  }
  std::string shown_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::read_transaction> tx_;
  pqxx::result batch_;
  std::size_t row_ = 0;
};

// libpq's messages span lines ("ERROR: ...\nLINE 1: ...\n ^"): one line for our errors.
std::string one_line(std::string_view what) {
  const auto line = what.find("\nLINE ");
  if (line != std::string_view::npos) what = what.substr(0, line);
  std::string out;
  for (char c : trim(what)) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::unique_ptr<Rows> open_rows(const std::string& source, const std::string& sql) {
  if (is_postgres(source)) return std::make_unique<PostgresRows>(source, sql);
  return std::make_unique<SqliteRows>(source, sql);
}

std::string shown(const std::string& source) { return without_password(source); }

// "feed" or "analytics.feed" -> "feed" / "analytics"."feed" (identifiers quoted, quotes doubled).
std::string quoted_table(const std::string& table, const std::string& source) {
  RECKON_CHECK(!trim(table).empty() && table.size() <= 200 &&
                   std::none_of(table.begin(), table.end(),
                                [](char c) { return c == '\0' || c == '\n' || c == '\r'; }),
               "{}: --table: expected a table name, got \"{}\"", shown(source), excerpt(table));
  std::vector<std::string_view> parts;
  split_plain(table, ".", parts);
  RECKON_CHECK(parts.size() <= 3, "{}: --table: expected [schema.]table, got \"{}\"",
               shown(source), table);
  std::string out;
  for (auto p : parts) {
    out += out.empty() ? "\"" : ".\"";
    for (char c : p) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    out += '"';
  }
  return out;
}

std::string column_name(const Rows& rows, int i) {
  return i >= 0 && static_cast<std::size_t>(i) < rows.names().size()
             ? "\"" + rows.names()[static_cast<std::size_t>(i)] + "\""
             : std::to_string(i + 1);
}

}  // namespace

bool is_database_url(std::string_view source) {
  return is_postgres(source) || source.starts_with("sqlite:");
}

bool is_sqlite_file(const std::string& path) {
  // Regular files only: reading the magic of a pipe (/dev/fd/63, "-") would drain it.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char magic[16] = {};
  const bool ok = std::fread(magic, 1, 16, f) == 16 &&
                  std::string_view(magic, 16) == std::string_view("SQLite format 3\0", 16);
  std::fclose(f);
  return ok;
}

bool is_database_source(const std::string& source) {
  return is_database_url(source) || is_sqlite_file(source);
}

bool is_event_store(const std::string& source) {
  try {
    const std::string sql =
        is_postgres(source)
            ? "SELECT user_id, item_id, type, value, ts FROM reckon_events LIMIT 0"
            : "SELECT user_id, item_id, type, value, ts FROM events LIMIT 0";
    open_rows(source, sql);
    return true;
  } catch (const Error&) {
    return false;
  }
}

void read_stored_events(const std::string& source,
                        const std::function<bool(const StoredEvent&)>& fn) {
  RECKON_CHECK(is_database_source(source), "{}: not an event store (an SQLite file or a "
               "postgresql:// URL)", shown(source));
  const std::string table = is_postgres(source) ? "reckon_events" : "events";
  std::unique_ptr<Rows> rows;
  try {
    rows = open_rows(source, "SELECT user_id, item_id, type, value, ts FROM " + table +
                                 " ORDER BY id");
  } catch (const InvalidInput&) {
    throw InvalidInput(fmt::format(
        "{}: not a reckon event store (no {} table with user_id, item_id, type, value, ts); "
        "to read another table, give --table or --query",
        shown(source), table));
  }
  std::vector<std::optional<std::string_view>> f;
  StoredEvent e;
  std::int64_t row = 0;
  while (rows->next(f)) {
    ++row;
    const auto bad = [&](const char* what) {
      return InvalidInput(fmt::format("{}: event {}: {}", shown(source), row, what));
    };
    if (!f[0] || !f[1] || f[0]->empty() || f[1]->empty()) throw bad("no user or item id");
    e.user_id.assign(*f[0]);
    e.item_id.assign(*f[1]);
    e.type.assign(f[2].value_or("view"));
    const auto v = f[3] ? parse_double(*f[3]) : std::optional<double>(1.0);
    if (!v || std::abs(*v) > 1e9) throw bad("a value that is not a finite number");
    e.value = *v;
    const auto t = f[4] ? parse_int(*f[4]) : std::optional<std::int64_t>();
    if (!t) throw bad("a timestamp that is not an integer (unix milliseconds)");
    e.timestamp_ms = *t;
    if (!fn(e)) return;
  }
}

namespace detail {

// Interactions from a query or table, columns mapped as for CSV. Returns whether a rating
// column was read.
bool read_database(const std::string& source, const ImportOptions& o, InteractionBuilder& b) {
  RECKON_CHECK(o.query.empty() || o.table.empty(), "{}: give --query or --table, not both",
               shown(source));
  const std::string sql =
      !o.query.empty() ? o.query : "SELECT * FROM " + quoted_table(o.table, source);
  auto rows = open_rows(source, sql);
  std::vector<std::string> names;
  for (const auto& n : rows->names()) names.push_back(to_lower(n));
  const std::string label = shown(source);
  const auto c = detail::resolve_interaction_columns(names, o, label, names.size());
  const int rating = o.implicit ? -1 : c.rating;
  const auto need = static_cast<std::size_t>(std::max({c.user, c.item, rating, c.time})) + 1;
  RECKON_CHECK(need <= names.size(), "{}: the query gives {} columns; the mapping needs {}", label,
               names.size(), need);
  Progress progress("import " + label, 0, "rows");
  std::vector<std::optional<std::string_view>> f;
  std::int64_t row = 0;
  const auto fail = [&](const std::string& what, int col, std::optional<std::string_view> got) {
    throw InvalidInput(fmt::format("{}: row {}: expected {} in column {}, got {}", label, row,
                                   what, column_name(*rows, col),
                                   got ? "\"" + excerpt(*got) + "\"" : std::string("NULL")));
  };
  while (rows->next(f)) {
    ++row;
    const auto user = f[static_cast<std::size_t>(c.user)];
    const auto item = f[static_cast<std::size_t>(c.item)];
    if (!user || trim(*user).empty()) fail("a user id", c.user, user);
    if (!item || trim(*item).empty()) fail("an item id", c.item, item);
    if (find_invalid_utf8(*user) != std::string_view::npos) fail("UTF-8 text", c.user, "<bytes>");
    if (find_invalid_utf8(*item) != std::string_view::npos) fail("UTF-8 text", c.item, "<bytes>");
    float value = 1.0f;
    if (rating >= 0) {
      const auto r = f[static_cast<std::size_t>(rating)];
      const auto v = r ? parse_double(*r) : std::nullopt;
      if (!v || !fits_float(*v)) fail("a number", rating, r);
      value = static_cast<float>(*v);
    }
    std::int64_t time = kNoTime;
    if (c.time >= 0) {
      const auto t = f[static_cast<std::size_t>(c.time)];
      const auto v = t ? parse_timestamp(*t) : std::nullopt;
      if (!v) fail("a timestamp (unix seconds or ISO 8601)", c.time, t);
      time = *v;
    }
    b.add(b.user(trim(*user)), b.item(trim(*item)), value, time);
    if ((row & 0xffff) == 0) progress.update(static_cast<double>(row));
  }
  progress.update(static_cast<double>(row));
  progress.finish();
  return rating >= 0;
}

}  // namespace detail

Dataset import_events(const std::string& source, const EventWeights& weights,
                      const ImportOptions& o) {
  InteractionBuilder b(o.max_memory, o.spill_rows);
  Progress progress("import events " + shown(source), 0, "events");
  std::int64_t n = 0;
  read_stored_events(source, [&](const StoredEvent& e) {
    b.add(b.user(e.user_id), b.item(e.item_id), static_cast<float>(weights.weight(e.type, e.value)),
          e.timestamp_ms / 1000);
    if ((++n & 0xffff) == 0) progress.update(static_cast<double>(n));
    return true;
  });
  progress.update(static_cast<double>(n));
  progress.finish();
  RECKON_CHECK(n > 0, "{}: the event store holds no events", shown(source));
  Dataset d = b.build(DedupPolicy::kSum, o.name.empty() ? "events" : o.name, false);
  // Net weights: only what the user wants more of is an interaction.
  const auto& v = d.interactions.values();
  std::vector<bool> keep(v.size());
  std::size_t dropped = 0;
  for (std::size_t k = 0; k < v.size(); ++k) {
    keep[k] = v[k] > 0;
    dropped += !keep[k];
  }
  if (dropped > 0) {
    spdlog::info("{}: {} user-item pairs with a net negative or zero weight left out",
                 shown(source), dropped);
    d.interactions = d.interactions.filtered(keep);
  }
  d.validate();
  return d;
}

Dataset merge_events(const Dataset& base, const std::string& source, const EventWeights& weights,
                     MergeStats* stats) {
  MergeStats st;
  // The events' net weight per pair, in an id space that extends the base's.
  IdMap users = base.users, items = base.items;
  struct Pair {
    std::int64_t user, item;
    double weight;
    std::int64_t time;
  };
  std::vector<Pair> pairs;
  read_stored_events(source, [&](const StoredEvent& e) {
    pairs.push_back({users.intern(e.user_id), items.intern(e.item_id),
                     weights.weight(e.type, e.value), e.timestamp_ms / 1000});
    ++st.events;
    return true;
  });
  std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
    return a.user != b.user ? a.user < b.user : a.item < b.item;
  });
  std::vector<Pair> net;
  for (const auto& p : pairs) {
    if (!net.empty() && net.back().user == p.user && net.back().item == p.item) {
      net.back().weight += p.weight;
      net.back().time = std::max(net.back().time, p.time);
    } else {
      net.push_back(p);
    }
  }
  pairs.clear();
  pairs.shrink_to_fit();
  st.new_users = users.size() - base.num_users();
  st.new_items = items.size() - base.num_items();
  // Merge row by row: the base's row with the events' pairs of that user.
  const CsrMatrix& m = base.interactions;
  const bool timed = m.has_times() || !net.empty();
  std::vector<index_t> rows, cols;
  std::vector<float> vals;
  std::vector<std::int64_t> times;
  std::size_t e = 0;
  for (index_t u = 0; u < users.size(); ++u) {
    const auto idx = u < m.rows() ? m.row_indices(u) : std::span<const col_t>();
    const auto val = u < m.rows() ? m.row_values(u) : std::span<const float>();
    std::size_t k = 0;
    const auto push = [&](index_t i, float v, std::int64_t t) {
      rows.push_back(u);
      cols.push_back(i);
      vals.push_back(v);
      if (timed) times.push_back(t);
    };
    while (k < idx.size() || (e < net.size() && net[e].user == u)) {
      const bool has_event = e < net.size() && net[e].user == u;
      if (k < idx.size() && (!has_event || idx[k] < net[e].item)) {
        push(idx[k], val[k], m.has_times() ? m.row_times(u)[k] : kNoTime);
        ++k;
      } else if (k < idx.size() && idx[k] == net[e].item) {
        if (net[e].weight < 0) {
          ++st.removed;  // feedback against an item the user had: it leaves their history
        } else {
          push(idx[k], val[k], m.has_times() ? m.row_times(u)[k] : kNoTime);
          ++st.kept;
        }
        ++k;
        ++e;
      } else {
        if (net[e].weight > 0) {
          push(net[e].item, static_cast<float>(net[e].weight), net[e].time);
          ++st.added;
        }
        ++e;
      }
    }
  }
  Dataset out;
  out.name = base.name;
  out.explicit_ratings = base.explicit_ratings;
  out.interactions = CsrMatrix::from_coordinates(users.size(), items.size(), std::move(rows),
                                                 std::move(cols), std::move(vals),
                                                 std::move(times), DedupPolicy::kLast);
  out.users = std::move(users);
  out.items = std::move(items);
  // New users and items join the feature tables without values.
  const auto extended = [](index_t old_rows, index_t rows) {
    std::vector<index_t> keep(static_cast<std::size_t>(rows), -1);
    for (index_t r = 0; r < old_rows; ++r) keep[static_cast<std::size_t>(r)] = r;
    return keep;
  };
  out.user_features = base.user_features.select(extended(base.num_users(), out.num_users()));
  out.item_features = base.item_features.select(extended(base.num_items(), out.num_items()));
  out.validate();
  if (stats) *stats = st;
  return out;
}

}  // namespace reckon
