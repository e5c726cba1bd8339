#pragma once
// Reads a text file line by line, gzip or plain (detected from the content, not the name),
// tracking line numbers for error messages. Lines come without "\n" or a trailing "\r".
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace reckon {

class Progress;

class LineReader {
 public:
  static constexpr std::size_t kDefaultMaxLine = 8u << 20;

  // Throws IoError when the file cannot be opened, InvalidInput when it is a directory.
  explicit LineReader(const std::filesystem::path& path, std::size_t max_line = kDefaultMaxLine);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Next line, or false at the end of the file. Throws InvalidInput for a line longer than
  // max_line and for a damaged or truncated gzip stream.
  bool next(std::string_view& line);

  std::int64_t line_number() const noexcept { return line_number_; }
  // The file name used in messages.
  const std::string& name() const noexcept { return name_; }
  // Bytes of the underlying file consumed so far, and its size (for progress).
  std::uint64_t bytes_read() const;
  std::uint64_t file_size() const noexcept { return file_size_; }
  // Size of the text once decompressed (from the gzip trailer, modulo 4 GiB), for reserving.
  std::uint64_t text_size() const noexcept { return text_size_; }
  // Shows progress of this file on `progress` (optional).
  void attach(Progress* progress) noexcept { progress_ = progress; }

  // Throws InvalidInput "FILE:LINE: expected WHAT, got "TEXT"".
  [[noreturn]] void fail(std::string_view expected, std::string_view got) const;
  // Throws InvalidInput "FILE:LINE: MESSAGE".
  [[noreturn]] void fail_message(std::string_view message) const;

 private:
  bool fill();

  std::string name_;
  void* gz_ = nullptr;  // gzFile
  std::size_t max_line_;
  std::string buffer_;
  std::size_t begin_ = 0;  // start of unconsumed data in buffer_
  std::size_t end_ = 0;    // end of valid data in buffer_
  bool eof_ = false;
  std::int64_t line_number_ = 0;
  std::uint64_t file_size_ = 0;
  std::uint64_t text_size_ = 0;
  Progress* progress_ = nullptr;
};

}  // namespace reckon
