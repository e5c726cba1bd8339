#pragma once
// Progress of long work on stderr: a bar with rate and ETA on a terminal, a plain log line every
// few seconds otherwise. Cheap to update from a hot loop (a clock read every call at most).
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace reckon {

class Progress {
 public:
  // `total` <= 0 means unknown. `unit` is shown after the rate ("rows", "MB", "users").
  Progress(std::string label, double total, std::string unit, double unit_scale = 1.0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(double done);
  void add(double delta) { update(done_ + delta); }
  void finish();
  // Text shown after the bar, until replaced (a neural model's epoch, loss and validation
  // score); drawn at the next update.
  void set_note(std::string note);

  // Globally silences progress output (tests, --quiet).
  static void set_enabled(bool enabled);
  static bool enabled();

 private:
  void draw(bool final);

  std::string label_;
  double total_;
  std::string unit_;
  std::string note_;
  double unit_scale_;
  double done_ = 0;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex mutex_;
};

}  // namespace reckon
