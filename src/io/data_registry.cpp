#include "reckon/io/data_registry.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/io/http_client.hpp"

namespace reckon {
namespace fs = std::filesystem;

namespace {

const std::string kLightGcn =
    "https://raw.githubusercontent.com/kuandeng/LightGCN/b067ec05f16a24e0e1efe63cd82385f0c469af20/"
    "Data/";
const std::string kGoodbooks =
    "https://raw.githubusercontent.com/zygmuntz/goodbooks-10k/"
    "6dd165b555a7b47b2dd36743a425776e641ff50c/";
const std::string kGroupLensTerms =
    "GroupLens: research use only, no redistribution, cite Harper & Konstan 2015";

const std::vector<KnownDataset>& registry() {
  static const std::vector<KnownDataset> datasets = {
      {"movielens-100k",
       "100,000 ratings (1-5) of 1,682 movies by 943 users, with demographics",
       "movielens",
       kGroupLensTerms,
       {{"https://files.grouplens.org/datasets/movielens/ml-100k.zip",
         "md5:0e33842e24a9c977be4e0107933c0723", "ml-100k"}}},
      {"movielens-1m",
       "1,000,209 ratings of 3,706 movies by 6,040 users, with demographics",
       "movielens",
       kGroupLensTerms,
       {{"https://files.grouplens.org/datasets/movielens/ml-1m.zip",
         "md5:c4d9eecfca2ab87c1945afe126590906", "ml-1m"}}},
      {"movielens-10m",
       "10 million ratings and 95,580 tags of 10,681 movies by 71,567 users",
       "movielens",
       kGroupLensTerms,
       {{"https://files.grouplens.org/datasets/movielens/ml-10m.zip",
         "md5:ce571fd55effeba0271552578f2648bd", "ml-10M100K"}}},
      {"movielens-20m",
       "20 million ratings and 465,000 tags of 27,278 movies by 138,493 users",
       "movielens",
       kGroupLensTerms,
       {{"https://files.grouplens.org/datasets/movielens/ml-20m.zip",
         "md5:cd245b17a1ae2cc31bb14903e1204af3", "ml-20m"}}},
      {"movielens-25m",
       "25 million ratings and 1 million tags of 62,423 movies by 162,541 users",
       "movielens",
       kGroupLensTerms,
       {{"https://files.grouplens.org/datasets/movielens/ml-25m.zip",
         "md5:6b51fb2759a8657d3bfcbfc42b592ada", "ml-25m"}}},
      {"goodbooks-10k",
       "6 million ratings of 10,000 books by 53,424 users, with tags",
       "goodbooks",
       "CC BY-SA 4.0 (Zygmunt Zajac)",
       {{kGoodbooks + "books.csv",
         "sha256:4d21d0e0433128657c752e3a3d0405ac0ec11675d6c70c64cb0abf4ab1acb76a", ""},
        {kGoodbooks + "tags.csv",
         "sha256:87f316957564fa21c316a4f50afc87f07906f478f990eec027aaca00c536c449", ""},
        {kGoodbooks + "ratings.csv", "", ""},
        {kGoodbooks + "book_tags.csv", "", ""}}},
      {"gowalla",
       "LightGCN/NGCF split of Gowalla check-ins: 29,858 users, 40,981 places",
       "lightgcn",
       "SNAP loc-gowalla, research use; cite Cho et al. 2011 and He et al. 2020",
       {{kLightGcn + "gowalla/train.txt",
         "sha256:7244696fdeb23911319cf7b689f2e15a3c4c92549c873a5677b44e3f13cc3e62", ""},
        {kLightGcn + "gowalla/test.txt",
         "sha256:099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3", ""}}},
      {"yelp2018",
       "LightGCN split of Yelp 2018: 31,668 users, 38,048 businesses",
       "lightgcn",
       "Yelp dataset terms, research use",
       {{kLightGcn + "yelp2018/train.txt", "", ""}, {kLightGcn + "yelp2018/test.txt", "", ""}}},
      {"amazon-book",
       "LightGCN split of Amazon books: 52,643 users, 91,599 books",
       "lightgcn",
       "research use; cite McAuley et al.",
       {{kLightGcn + "amazon-book/train.txt", "", ""},
        {kLightGcn + "amazon-book/test.txt", "", ""}}},
      {"lastfm-hetrec",
       "HetRec 2011 Last.fm: 92,834 user-artist play counts, 1,892 users, tags",
       "csv",
       "GroupLens HetRec terms: research use",
       {{"https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip", "", ""}}},
  };
  return datasets;
}

std::string hex(const unsigned char* p, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

void extract_zip(const fs::path& zip, const fs::path& dest) {
  archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  if (archive_read_open_filename(a, zip.c_str(), 1 << 16) != ARCHIVE_OK) {
    const std::string msg = archive_error_string(a);
    archive_read_free(a);
    throw IoError(fmt::format("{}: cannot open archive: {}", zip.string(), msg));
  }
  archive_entry* entry;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    const fs::path rel = fs::path(archive_entry_pathname(entry)).lexically_normal();
    // Refuse entries that would land outside the destination.
    if (rel.is_absolute() || (!rel.empty() && *rel.begin() == "..")) continue;
    const fs::path out = dest / rel;
    if (archive_entry_filetype(entry) == AE_IFDIR) {
      fs::create_directories(out);
      continue;
    }
    fs::create_directories(out.parent_path());
    std::ofstream file(out, std::ios::binary);
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK)
      file.write(static_cast<const char*>(buf), static_cast<std::streamsize>(size));
    if (r != ARCHIVE_EOF) {
      const std::string msg = archive_error_string(a);
      archive_read_free(a);
      throw IoError(fmt::format("{}: damaged archive: {}", zip.string(), msg));
    }
  }
  archive_read_free(a);
}

}  // namespace

std::span<const KnownDataset> known_datasets() { return registry(); }

const KnownDataset& find_known_dataset(std::string_view name) {
  for (const auto& d : registry())
    if (d.name == name) return d;
  std::string names;
  for (const auto& d : registry()) names += (names.empty() ? "" : ", ") + d.name;
  throw InvalidInput(fmt::format("unknown dataset \"{}\" (known: {})", name, names));
}

fs::path data_dir() {
  if (const char* env = std::getenv("RECKON_DATA_DIR"); env && *env) return env;
  std::error_code ec;
  if (fs::is_directory("../shared/data", ec)) return "../shared/data";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : ".") / ".cache" / "reckon" / "data";
}

std::optional<fs::path> local_path(const KnownDataset& d) {
  std::error_code ec;
  const fs::path p = data_dir() / d.name;
  if (fs::is_directory(p, ec)) return p;
  return std::nullopt;
}

fs::path resolve_data_source(const std::string& source) {
  std::error_code ec;
  if (source == "-" || fs::exists(source, ec)) return source;  // "-": standard input
  for (const auto& d : registry()) {
    if (d.name != source) continue;
    if (auto p = local_path(d)) return *p;
    throw InvalidInput(fmt::format("dataset \"{}\" is not in {}; run: reckon data fetch {}", source,
                                   data_dir().string(), source));
  }
  throw IoError(fmt::format("{}: no such file, directory or known dataset", source));
}

std::string file_digest(const fs::path& path, std::string_view algorithm) {
  const EVP_MD* md = algorithm == "md5"      ? EVP_md5()
                     : algorithm == "sha256" ? EVP_sha256()
                                             : nullptr;
  RECKON_CHECK(md, "unknown digest algorithm \"{}\"", algorithm);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open", path.string()));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, nullptr);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(ctx, out, &n);
  EVP_MD_CTX_free(ctx);
  return hex(out, n);
}

std::string source_digest(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return file_digest(path, "sha256");
  std::vector<std::string> lines;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    lines.push_back(fs::relative(it->path(), path, ec).generic_string() + " " +
                    file_digest(it->path(), "sha256") + "\n");
  }
  if (ec) throw IoError(fmt::format("{}: cannot list: {}", path.string(), ec.message()));
  std::sort(lines.begin(), lines.end());
  std::string all;
  for (const auto& l : lines) all += l;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(all.data(), all.size(), out, &n, EVP_sha256(), nullptr);
  return hex(out, n);
}

fs::path fetch_dataset(const KnownDataset& d, const FetchOptions& o) {
  const fs::path root = data_dir();
  const fs::path target = root / d.name;
  std::error_code ec;
  if (fs::is_directory(target, ec) && !o.force) return target;
  if (!o.allow_unverified) {
    for (const auto& f : d.files)
      RECKON_CHECK(!f.digest.empty(),
                   "{}: no published checksum is recorded for {}; pass --allow-unverified to "
                   "download it anyway (its SHA-256 is printed so you can pin it)",
                   d.name, f.url);
  }
  fs::create_directories(root);
  const fs::path tmp = root / (".fetch-" + d.name);
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    for (const auto& f : d.files) {
      const std::string file_name = f.url.substr(f.url.rfind('/') + 1);
      const fs::path dest = tmp / file_name;
      download(f.url, dest);
      const std::string sha = file_digest(dest, "sha256");
      if (!f.digest.empty()) {
        const auto colon = f.digest.find(':');
        const std::string algo = f.digest.substr(0, colon);
        const std::string want = f.digest.substr(colon + 1);
        const std::string got = algo == "sha256" ? sha : file_digest(dest, algo);
        if (got != want)
          throw IoError(
              fmt::format("{}: {} is {}, expected {}: the download is damaged or the "
                          "file changed upstream",
                          file_name, algo, got, want));
      }
      std::fprintf(stderr, "%s  sha256:%s%s\n", file_name.c_str(), sha.c_str(),
                   f.digest.empty() ? "  (unverified: no published checksum)" : "  verified");
      if (!f.extract_root.empty()) {
        extract_zip(dest, tmp);
        fs::remove(dest);
        for (const auto& entry : fs::directory_iterator(tmp / f.extract_root))
          fs::rename(entry.path(), tmp / entry.path().filename());
        fs::remove_all(tmp / f.extract_root);
      }
    }
    fs::remove_all(target, ec);
    fs::rename(tmp, target);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  return target;
}

}  // namespace reckon
