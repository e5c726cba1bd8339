#pragma once
// Whole-file reads, atomic writes, and the checksummed container shared by .rkd and .rkm files.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace reckon {

class BinaryWriter;

// Reads a whole file; IoError names the path on failure.
std::string read_file(const std::filesystem::path& path);

// Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it over
// `path`, so that readers see either the old file or the new one, never half of one.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// The same, written in pieces (exports too large to hold): a temporary file beside `path`,
// renamed over it by commit(); destroyed without commit(), it is removed and `path` untouched.
class AtomicFile {
 public:
  explicit AtomicFile(const std::filesystem::path& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(std::string_view bytes);
  // Overwrites bytes already written, `offset` bytes from the start (a header whose checksum
  // is known only once the body is written).
  void write_at(std::uint64_t offset, std::string_view bytes);
  void commit();

 private:
  std::filesystem::path path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

// Container layout (little-endian):
//   magic[8] | u32 format_version | u32 n_fields | u64 fields[n_fields]
//   | u64 body_size | u32 body_checksum | u32 header_checksum | body
// Checksums are the low 32 bits of XXH3-64.
// `fields` are small counts a reader can show without decoding the body.
struct CheckedFile {
  std::uint32_t version = 0;
  std::vector<std::uint64_t> fields;
  std::string_view body;                // valid while `storage` lives
  std::shared_ptr<const void> storage;  // the memory-mapped file
};

void write_checked_file(const std::filesystem::path& path, std::string_view magic,
                        std::uint32_t version, const std::vector<std::uint64_t>& fields,
                        std::string_view body);
// The same, with the body streamed from `write_body` to the file (checksummed on the way):
// memory stays flat however large the body.
void write_checked_file(const std::filesystem::path& path, std::string_view magic,
                        std::uint32_t version, const std::vector<std::uint64_t>& fields,
                        const std::function<void(BinaryWriter&)>& write_body);
// Refuses (InvalidInput) a file with another magic, a version above `max_version`, a bad
// checksum, or a wrong size; `kind` names what was expected ("reckon dataset").
CheckedFile read_checked_file(const std::filesystem::path& path, std::string_view magic,
                              std::uint32_t max_version, std::string_view kind);
// Reads only the header (for quick listings).
CheckedFile read_checked_header(const std::filesystem::path& path, std::string_view magic,
                                std::uint32_t max_version, std::string_view kind);

std::uint32_t checksum32(std::string_view bytes);

// How a loader treats a file's big arrays. `in_place`: viewed in the file's read-only memory
// map, whose pages every process reading the file shares; the file must then not be truncated
// or rewritten in place while in use (a truncation is a bus error). `copy`: copied into the
// process's own memory and the map dropped at once, for a long-running service whose files an
// operator may overwrite with `cp`.
enum class FileAccess { in_place, copy };

// A bus error is how a process learns that a file it maps was truncated under it. This turns
// it into a clear message on stderr and exit status 1 instead of a crash (commands that read
// .rkd and .rkm files in place install it).
void exit_clearly_on_bus_error();

}  // namespace reckon
