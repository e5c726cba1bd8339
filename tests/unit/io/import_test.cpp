// Parsers on good and bad input. Every failure must name the file and line and say what was
// expected; none may crash or return part of a dataset.
#include "reckon/io/import.hpp"

#include <gtest/gtest.h>

#include "reckon/io/dataset_file.hpp"

#include <fstream>

#include "reckon/io/line_reader.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

using test::error_of;
using test::TempDir;

ImportOptions csv() {
  ImportOptions o;
  o.format = ImportFormat::kCsv;
  return o;
}

std::string import_error(const std::filesystem::path& p, const ImportOptions& o) {
  return error_of([&] { import_dataset(p, o); });
}

TEST(ImportCsv, ReadsHeaderQuotesAndTimes) {
  TempDir dir;
  const auto p = dir.file("r.csv",
                          "user_id,item_id,rating,timestamp\n"
                          "u1,\"item, one\",4.5,2020-01-01\n"
                          "u2,i2,3,1577836800\n"
                          "u1,i2,5,1577836900\n");
  const Dataset d = import_dataset(p, csv());
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 2);
  EXPECT_EQ(d.num_interactions(), 3);
  EXPECT_TRUE(d.explicit_ratings);
  EXPECT_EQ(d.items.id(0), "item, one");
  EXPECT_TRUE(d.interactions.has_times());
  EXPECT_EQ(d.interactions.row_times(0)[0], 1577836800);
}

TEST(ImportCsv, ColumnMappingByNameAndPosition) {
  TempDir dir;
  const auto p = dir.file("r.tsv", "when\tsession\tclicked\n100\ts1\tx\n200\ts1\ty\n300\ts2\tx\n");
  ImportOptions o;
  o.format = ImportFormat::kTsv;
  o.session_col = "session";
  o.item_col = "3";
  o.time_col = "when";
  o.header = true;
  const Dataset d = import_dataset(p, o);
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 2);
  EXPECT_FALSE(d.explicit_ratings);
  EXPECT_EQ(d.users.id(0), "s1");
}

TEST(ImportCsv, CrlfLineEndsAndNoHeader) {
  TempDir dir;
  const auto p = dir.file("r.csv", "1,10,5\r\n2,10,3\r\n2,11,1");  // last line has no newline
  const Dataset d = import_dataset(p, csv());
  EXPECT_EQ(d.num_interactions(), 3);
  EXPECT_EQ(d.items.id(1), "11");
  EXPECT_FLOAT_EQ(d.interactions.row_values(1)[1], 1.0f);
}

TEST(ImportCsv, GzipIsTransparent) {
  TempDir dir;
  const auto p = dir.gz_file("r.csv.gz", "user,item\na,b\nc,b\n");
  EXPECT_EQ(import_dataset(p, csv()).num_interactions(), 2);
}

TEST(ImportCsv, EmptyFile) {
  TempDir dir;
  const auto e = import_error(dir.file("e.csv", ""), csv());
  EXPECT_NE(e.find("e.csv: empty file"), std::string::npos) << e;
}

TEST(ImportCsv, HeaderOnly) {
  TempDir dir;
  const auto e = import_error(dir.file("h.csv", "user,item,rating\n"), csv());
  EXPECT_NE(e.find("no interactions"), std::string::npos) << e;
}

TEST(ImportCsv, WrongSeparator) {
  TempDir dir;
  ImportOptions o = csv();
  o.sep = ",";
  const auto e = import_error(dir.file("s.csv", "1;2;5\n3;4;1\n"), o);
  EXPECT_NE(e.find("s.csv:1: expected at least 2 fields separated by ','"), std::string::npos) << e;
}

TEST(ImportCsv, NonNumericRating) {
  TempDir dir;
  const auto e = import_error(dir.file("r.csv", "user,item,rating\n1,2,5\n1,3,five\n"), csv());
  EXPECT_NE(e.find("r.csv:3: expected a numeric rating in column 3, got \"five\""),
            std::string::npos)
      << e;
}

TEST(ImportCsv, MissingColumn) {
  TempDir dir;
  const auto e = import_error(dir.file("m.csv", "user,item,rating\n1,2,5\n1,3\n"), csv());
  EXPECT_NE(e.find("m.csv:3: expected at least 3 fields"), std::string::npos) << e;
  ImportOptions o = csv();
  o.rating_col = "stars";
  const auto e2 = import_error(dir.file("n.csv", "user,item,rating\n1,2,5\n"), o);
  EXPECT_NE(e2.find("no column named \"stars\""), std::string::npos) << e2;
}

TEST(ImportCsv, InvalidUtf8) {
  TempDir dir;
  const auto e = import_error(dir.file("u.csv", "user,item\nab,caf\xe9\n"), csv());
  EXPECT_NE(e.find("u.csv:2: expected UTF-8 text in the item id"), std::string::npos) << e;
}

TEST(ImportCsv, VeryLongLine) {
  TempDir dir;
  std::string content = "user,item\n1,";
  content += std::string(LineReader::kDefaultMaxLine + 10, 'x');
  content += "\n";
  const auto e = import_error(dir.file("l.csv", content), csv());
  EXPECT_NE(e.find("l.csv:2: line is longer than"), std::string::npos) << e;
}

TEST(ImportCsv, TruncatedGzip) {
  TempDir dir;
  std::string content = "user,item,rating\n";
  for (int i = 0; i < 20000; ++i)
    content += std::to_string(i) + "," + std::to_string(i * 7 % 1000) + ",1\n";
  const auto whole = dir.gz_file("whole.csv.gz", content);
  const std::string bytes = [&] {
    std::ifstream in(whole, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  const auto cut = dir.file("cut.csv.gz", bytes.substr(0, bytes.size() / 2));
  const auto e = import_error(cut, csv());
  EXPECT_NE(e.find("cut.csv.gz:"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
}

TEST(ImportCsv, UnterminatedQuote) {
  TempDir dir;
  const auto e = import_error(dir.file("q.csv", "user,item\n1,\"open\n"), csv());
  EXPECT_NE(e.find("expected a closing quote"), std::string::npos) << e;
}

TEST(ImportCsv, QuotedFieldAcrossLines) {
  TempDir dir;
  const auto p = dir.file("q.csv", "user,item,rating\n1,\"two\nlines\",3\n2,x,4\n");
  const Dataset d = import_dataset(p, csv());
  EXPECT_EQ(d.num_interactions(), 2);
  EXPECT_EQ(d.items.id(0), "two\nlines");
}

TEST(ImportCsv, DedupPolicies) {
  TempDir dir;
  const auto p = dir.file("d.csv", "user,item,rating,time\na,x,1,10\na,x,4,30\na,x,2,20\n");
  ImportOptions o = csv();
  o.dedup = DedupPolicy::kLast;
  EXPECT_FLOAT_EQ(import_dataset(p, o).interactions.values()[0], 4.0f);
  o.dedup = DedupPolicy::kSum;
  EXPECT_FLOAT_EQ(import_dataset(p, o).interactions.values()[0], 7.0f);
  o.dedup = DedupPolicy::kFirst;
  EXPECT_FLOAT_EQ(import_dataset(p, o).interactions.values()[0], 1.0f);
}

TEST(ImportJsonl, ReadsObjectsAndRefusesGarbage) {
  TempDir dir;
  const auto p =
      dir.file("e.jsonl",
               "{\"user_id\": \"u1\", \"item_id\": 7, \"rating\": 4, \"timestamp\": "
               "\"2020-01-01T00:00:00Z\"}\n\n"
               "{\"user_id\": \"u2\", \"item_id\": \"7\", \"rating\": 2, \"timestamp\": 1}\n");
  const Dataset d = import_dataset(p, {});
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 1);
  const auto bad = dir.file("b.jsonl", "{\"user_id\": 1, \"item_id\": 2}\n{\"user_id\": 1,\n");
  const auto e = import_error(bad, {});
  EXPECT_NE(e.find("b.jsonl:2: expected a JSON object"), std::string::npos) << e;
  const auto missing = dir.file("m.jsonl", "{\"who\": 1, \"item_id\": 2}\n");
  EXPECT_NE(import_error(missing, {}).find("m.jsonl:1: expected a user field"), std::string::npos);
}

TEST(ImportLightGcn, ReadsUserItemLists) {
  TempDir dir;
  const auto p = dir.file("train.txt", "0 1 2 3\n1 2\n2 5 1\n");
  const Dataset d = import_dataset(p, {});
  EXPECT_EQ(d.num_users(), 3);
  EXPECT_EQ(d.num_items(), 4);
  EXPECT_EQ(d.num_interactions(), 6);
  EXPECT_FALSE(d.explicit_ratings);
  ImportOptions o;
  o.format = ImportFormat::kLightGcn;
  const auto e = import_error(dir.file("bad.txt", "0 1 2\n1 x\n"), o);
  EXPECT_NE(e.find("bad.txt:2: expected integer item ids"), std::string::npos) << e;
}

// "user item rating" in a .txt looks like a LightGCN line "user item item": column options
// say which it is, and a format with fixed columns refuses them rather than ignore them.
TEST(ImportLightGcn, ColumnOptionsMeanColumnsNotItemLists) {
  TempDir dir;
  const auto p = dir.file("ratings.txt", "1 1 5\n1 2 3\n2 1 4\n");
  EXPECT_EQ(import_dataset(p, {}).num_interactions(), 6);  // read as item lists
  ImportOptions o;
  o.rating_col = "3";
  const Dataset d = import_dataset(p, o);
  EXPECT_EQ(d.num_interactions(), 3);
  EXPECT_TRUE(d.explicit_ratings);
  EXPECT_EQ(d.interactions.row_values(*d.users.find("1"))[0], 5.0f);
  o.format = ImportFormat::kLightGcn;
  const auto e = import_error(p, o);
  EXPECT_NE(e.find("--rating-col applies to csv, tsv and jsonl files"), std::string::npos) << e;
  ImportOptions ml;
  ml.time_col = "4";
  const auto m = import_error(dir.file("u.data", "1\t10\t5\t100\n"), ml);
  EXPECT_NE(m.find("read as movielens"), std::string::npos) << m;
}

TEST(ImportMovieLens, DirectoryWithoutRatingsSaysWhatIsMissing) {
  TempDir dir;
  dir.file("ml/u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|1\n");
  ImportOptions o;
  o.format = ImportFormat::kMovieLens;
  const auto e = import_error(dir / "ml", o);
  EXPECT_NE(e.find("expected u.data (100K), ratings.dat (1M/10M) or ratings.csv"),
            std::string::npos)
      << e;
  EXPECT_NE(import_error(dir / "ml", {}).find("cannot tell the format"), std::string::npos);
}

TEST(ImportMovieLens, SmallDirectoryWithMetadata) {
  TempDir dir;
  dir.file("ml/u.data", "1\t10\t5\t100\n2\t10\t3\t200\n1\t11\t4\t300\n");
  dir.file("ml/u.genre", "unknown|0\nAction|1\nComedy|2\n\n");
  dir.file("ml/u.item",
           "10|Caf\xe9 (1995)|01-Jan-1995||http://a|0|1|1\n11|Other (1990)|||http://b|1|0|0\n"
           "12|Unrated (1980)|||http://c|0|0|1\n");
  dir.file("ml/u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n");
  const Dataset d = import_dataset(dir / "ml", {});
  EXPECT_EQ(d.num_items(), 2);  // the unrated movie is not part of the catalogue
  const auto* title = d.item_features.find("title");
  ASSERT_NE(title, nullptr);
  EXPECT_EQ(title->text(*d.items.find("10")), "Caf\xc3\xa9 (1995)");  // Latin-1 -> UTF-8
  EXPECT_FLOAT_EQ(d.item_features.find("year")->number(*d.items.find("11")), 1990.0f);
  EXPECT_EQ(d.item_features.find("genres")->format(*d.items.find("10")), "Action|Comedy");
  EXPECT_EQ(d.user_features.find("occupation")->format(*d.users.find("1")), "technician");
  EXPECT_FLOAT_EQ(d.user_features.find("age")->number(*d.users.find("2")), 53.0f);
}

TEST(ImportMovieLens, DatFormatAndBadLine) {
  TempDir dir;
  dir.file("ml/ratings.dat", "1::10::5::100\n2::10::3::200\n");
  dir.file("ml/movies.dat", "10::Heat (1995)::Action|Crime|Thriller\n");
  dir.file("ml/users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n");
  const Dataset d = import_dataset(dir / "ml", {});
  EXPECT_EQ(d.item_features.find("genres")->format(0), "Action|Crime|Thriller");
  EXPECT_EQ(d.user_features.find("occupation")->format(*d.users.find("1")), "K-12 student");
  dir.file("bad/ratings.dat", "1::10::5::100\n2::10\n");
  const auto e = import_error(dir / "bad", {});
  EXPECT_NE(e.find("ratings.dat:2: expected 3 or 4 fields (user::item::rating::timestamp)"),
            std::string::npos)
      << e;
}

TEST(ImportMetadata, InfersColumnKinds) {
  TempDir dir;
  const auto data = dir.file("r.csv", "user,item\nu,a\nu,b\nv,c\n");
  ImportOptions o = csv();
  o.items = dir.file("items.csv",
                     "item_id,title,year,genres,lang\n"
                     "a,\"Alpha, the first\",1999,Drama|War,en\n"
                     "b,Beta,2001,Comedy,fr\n"
                     "zzz,Not in data,1900,Drama,en\n");
  o.users = dir.file("users.jsonl", "{\"id\": \"u\", \"age\": 31, \"tags\": [\"x\", \"y\"]}\n");
  const Dataset d = import_dataset(data, o);
  const auto* title = d.item_features.find("title");
  ASSERT_NE(title, nullptr);
  EXPECT_EQ(title->kind(), FeatureKind::kText);
  EXPECT_EQ(title->text(0), "Alpha, the first");
  EXPECT_EQ(d.item_features.find("year")->kind(), FeatureKind::kNumeric);
  EXPECT_EQ(d.item_features.find("genres")->kind(), FeatureKind::kMultiCategorical);
  EXPECT_EQ(d.item_features.find("lang")->kind(), FeatureKind::kCategorical);
  EXPECT_FALSE(d.item_features.find("lang")->has_value(2));  // item c has no metadata
  EXPECT_FLOAT_EQ(d.user_features.find("age")->number(0), 31.0f);
  EXPECT_EQ(d.user_features.find("tags")->format(0), "x|y");
}

// Ratings keyed by work_id with a metadata file that also has a book_id column (which the
// guess would take): --items-id-col names the one that matches, in CSV and JSON lines alike.
TEST(ImportMetadata, NamedIdColumn) {
  TempDir dir;
  const auto data = dir.file("r.csv", "user,item\nu,w1\nv,w2\n");
  ImportOptions o = csv();
  o.items = dir.file("books.csv", "book_id,work_id,title\n7,w1,First\n8,w2,Second\n");
  o.items_id_col = "work_id";
  Dataset d = import_dataset(data, o);
  EXPECT_EQ(d.item_features.find("title")->text(*d.items.find("w2")), "Second");
  EXPECT_EQ(d.item_features.find("work_id"), nullptr);  // the id is not a feature
  EXPECT_NE(d.item_features.find("book_id"), nullptr);
  o.items_id_col = "2";  // by position
  d = import_dataset(data, o);
  EXPECT_EQ(d.item_features.find("title")->text(*d.items.find("w1")), "First");
  o.items =
      dir.file("books.jsonl", "{\"book_id\": 7, \"work_id\": \"w1\", \"title\": \"First\"}\n");
  o.items_id_col = "work_id";
  d = import_dataset(data, o);
  EXPECT_EQ(d.item_features.find("title")->text(*d.items.find("w1")), "First");
  o.items_id_col = "edition";
  auto e = import_error(data, o);
  EXPECT_NE(e.find("books.jsonl:1: expected a \"edition\" field"), std::string::npos) << e;
  o.items = dir / "books.csv";
  e = import_error(data, o);
  EXPECT_NE(e.find("no id column \"edition\" (columns: book_id, work_id, title)"),
            std::string::npos)
      << e;
}

// A .json export that is one array of objects reads like JSON lines; what is not an object
// is an error naming the element.
TEST(ImportMetadata, JsonArrayOfObjects) {
  TempDir dir;
  const auto data = dir.file("r.csv", "user,item\nu,a\nv,b\n");
  ImportOptions o = csv();
  o.items = dir.file("items.json",
                     "[\n  {\"id\": \"a\", \"title\": \"Alpha\", \"tags\": [\"x\", \"y\"]},\n"
                     "  {\"id\": \"b\", \"title\": \"Beta\"}\n]\n");
  const Dataset d = import_dataset(data, o);
  EXPECT_EQ(d.item_features.find("title")->text(*d.items.find("b")), "Beta");
  EXPECT_EQ(d.item_features.find("tags")->format(*d.items.find("a")), "x|y");
  o.items = dir.file("bad.json", "[{\"id\": \"a\"}, 7]");
  auto e = import_error(data, o);
  EXPECT_NE(e.find("bad.json: element 2 of the array: expected a JSON object"), std::string::npos)
      << e;
  o.items = dir.file("noid.json", "[{\"name\": \"a\"}]");
  e = import_error(data, o);
  EXPECT_NE(e.find("element 1 of the array: expected an \"id\""), std::string::npos) << e;
  o.items = dir.file("cut.json", "[{\"id\": \"a\"},");
  EXPECT_NE(import_error(data, o).find("cut.json: expected a JSON array of objects"),
            std::string::npos);
}

TEST(ImportMetadata, NumericArraysAndItemVectorsAreDenseVectors) {
  TempDir dir;
  const auto data = dir.file("r.csv", "user,item\nu,a\nv,b\nv,c\n");
  ImportOptions o = csv();
  o.items = dir.file("items.jsonl",
                     "{\"id\": \"a\", \"emb\": [1, 2.5, -3], \"tags\": [\"x\"]}\n"
                     "{\"id\": \"b\", \"emb\": [0, 0, 1]}\n");
  o.item_vectors = dir.file("vec.txt", "# id then floats\na 1 0\nc,0.5,0.5\nzz 1 1\n");
  Dataset d = import_dataset(data, o);
  const FeatureColumn* emb = d.item_features.find("emb");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->kind(), FeatureKind::kVector);
  EXPECT_EQ(emb->dim(), 3);
  EXPECT_FLOAT_EQ(emb->vector(*d.items.find("a"))[1], 2.5f);
  EXPECT_FALSE(emb->has_value(*d.items.find("c")));
  EXPECT_EQ(d.item_features.find("tags")->kind(), FeatureKind::kMultiCategorical);
  const FeatureColumn* v = d.item_features.find("embedding");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->dim(), 2);
  EXPECT_FLOAT_EQ(v->vector(*d.items.find("c"))[0], 0.5f);
  EXPECT_FALSE(v->has_value(*d.items.find("b")));
  // Through the .rkd file and back.
  const auto path = dir / "d.rkd";
  save_dataset(d, path);
  const Dataset back = load_dataset(path);
  EXPECT_EQ(back.item_features.find("embedding")->dim(), 2);
  EXPECT_FLOAT_EQ(back.item_features.find("emb")->vector(*back.items.find("a"))[2], -3.0f);
  // Bad vectors: a line of another length, a value that is not a number, mixed lengths in JSON.
  o.items.clear();
  o.item_vectors = dir.file("short.txt", "a 1 2\nb 1\n");
  auto e = import_error(data, o);
  EXPECT_NE(e.find("short.txt:2"), std::string::npos) << e;
  EXPECT_NE(e.find("2 numbers after the id"), std::string::npos) << e;
  o.item_vectors = dir.file("nan.txt", "a 1 nan\n");
  EXPECT_NE(import_error(data, o).find("value 2 of the vector"), std::string::npos);
  o.item_vectors.clear();
  o.items = dir.file("mixed.jsonl", "{\"id\": \"a\", \"emb\": [1, 2]}\n{\"id\": \"b\", \"emb\": [1]}\n");
  EXPECT_NE(import_error(data, o).find("vector column \"emb\""), std::string::npos);
}

TEST(ImportMetadata, NpyItemVectorsWithTheirIds) {
  TempDir dir;
  const auto data = dir.file("r.csv", "user,item\nu,a\nv,b\n");
  // A version-1 .npy of 2 x 2 float32, padded as NumPy pads its header.
  auto npy = [](const std::string& shape, std::size_t floats, const std::string& descr) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape +
                         ", }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    out += header;
    for (std::size_t k = 0; k < floats; ++k) {
      const float v = static_cast<float>(k + 1);
      out.append(reinterpret_cast<const char*>(&v), 4);
    }
    return out;
  };
  ImportOptions o = csv();
  o.item_vectors = dir.file("emb.npy", npy("(2, 2)", 4, "<f4"));
  dir.file("emb.ids", "b\na\n");
  const Dataset d = import_dataset(data, o);
  const FeatureColumn* v = d.item_features.find("embedding");
  ASSERT_NE(v, nullptr);
  EXPECT_FLOAT_EQ(v->vector(*d.items.find("a"))[0], 3.0f);  // row 2 is item a
  EXPECT_FLOAT_EQ(v->vector(*d.items.find("b"))[1], 2.0f);
  // The shape must match the bytes; the ids must be there and as many as the rows.
  o.item_vectors = dir.file("big.npy", npy("(1000000, 2)", 4, "<f4"));
  dir.file("big.ids", "a\n");
  EXPECT_NE(import_error(data, o).find("does not match"), std::string::npos);
  o.item_vectors = dir.file("noids.npy", npy("(2, 2)", 4, "<f4"));
  EXPECT_NE(import_error(data, o).find("needs its row ids"), std::string::npos);
  o.item_vectors = dir.file("few.npy", npy("(2, 2)", 4, "<f4"));
  dir.file("few.ids", "a\n");
  EXPECT_NE(import_error(data, o).find("1 ids for the 2 rows"), std::string::npos);
  o.item_vectors = dir.file("int.npy", npy("(2, 2)", 4, "<i4"));
  dir.file("int.ids", "a\nb\n");
  EXPECT_NE(import_error(data, o).find("float32 or float64"), std::string::npos);
}

TEST(ImportPredefined, SharesOneIdSpace) {
  TempDir dir;
  const auto train = dir.file("train.txt", "0 1 2\n1 2\n");
  const auto test = dir.file("test.txt", "0 3\n1 1\n");
  const PredefinedSplit s = import_predefined_split(train, test, {});
  EXPECT_EQ(s.train.num_items(), 3);  // items 1, 2, and 3 which appears only in test
  EXPECT_EQ(s.train.num_interactions(), 3);
  EXPECT_EQ(s.test.nnz(), 2);
  EXPECT_EQ(s.test.cols(), 3);
  EXPECT_EQ(s.train.items.id(s.test.row_indices(0)[0]), "3");
}

}  // namespace
}  // namespace reckon
