#pragma once
// Known public datasets: where they come from, how to check them, where they are locally.
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reckon {

struct RemoteFile {
  std::string url;
  std::string digest;  // "sha256:<hex>" or "md5:<hex>" (GroupLens publishes MD5); empty = none
  std::string extract_root;  // for archives: the folder inside the zip; empty = a plain file
};

struct KnownDataset {
  std::string name;  // reckon's name, also the folder under the data directory
  std::string description;
  std::string format;  // the import format that reads the folder
  std::string terms;   // licence summary
  std::vector<RemoteFile> files;
};

std::span<const KnownDataset> known_datasets();
// Throws InvalidInput naming the known datasets.
const KnownDataset& find_known_dataset(std::string_view name);

// $RECKON_DATA_DIR, else ../shared/data when it exists, else ~/.cache/reckon/data.
std::filesystem::path data_dir();
// data_dir()/name when that folder exists.
std::optional<std::filesystem::path> local_path(const KnownDataset& dataset);
// Resolves a dataset argument: an existing path as is, else a known dataset name found locally.
std::filesystem::path resolve_data_source(const std::string& source);

struct FetchOptions {
  bool allow_unverified = false;  // accept files without a recorded digest (prints their SHA-256)
  bool force = false;             // fetch again even when present
};
// Downloads into data_dir()/name (via a temporary folder, renamed when complete and verified).
// Throws IoError with a clear message when offline or when a digest does not match.
std::filesystem::path fetch_dataset(const KnownDataset& dataset, const FetchOptions& options);

// Hex digest of a file ("sha256" or "md5").
std::string file_digest(const std::filesystem::path& path, std::string_view algorithm);
// SHA-256 of a data source, for reports: of the file, or of a directory's regular files (the
// digest of the sorted "relative/path sha256" lines; links are not followed).
std::string source_digest(const std::filesystem::path& path);

}  // namespace reckon
