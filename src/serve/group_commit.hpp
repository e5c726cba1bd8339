#pragma once
// The write path both event stores share: callers queue writes, one thread commits everything
// queued since its last commit in one transaction, then acknowledges each write.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

#include "reckon/serve/event_store.hpp"

namespace reckon::detail {

struct PendingWrite : StoreWrite {
  WriteDone done;
};

class GroupCommitter {
 public:
  // `commit` writes every pending write in one transaction, or throws (and rolls back).
  using Commit = std::function<void(std::span<const PendingWrite>)>;
  // Runs on the writer thread after each commit's writes were acknowledged, and every `tick`
  // while idle: upkeep that should not delay an acknowledgement (the SQLite store indexes the
  // events it appended there; both stores prune old events). Returns true when it has more to
  // do at once (it runs again as soon as the writes queued meanwhile are committed).
  using Maintain = std::function<bool()>;

  GroupCommitter() = default;
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;
  ~GroupCommitter() { stop(); }

  void start(Commit commit, Maintain maintain = {},
             std::chrono::milliseconds tick = std::chrono::seconds(1));
  void submit(PendingWrite write);
  // Commits what is queued and joins the writer thread. The owning store calls it in its
  // destructor, while its connection is still open.
  void stop();

 private:
  void loop();

  Commit commit_;
  Maintain maintain_;
  std::chrono::milliseconds tick_{1000};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<PendingWrite> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// When the stores prune (Retention): set() from any thread, the rest on the writer thread.
class RetentionSchedule {
 public:
  void set(Retention retention);
  struct Chunk {
    std::int64_t cutoff_ms = 0;  // delete events older than this
    bool first = false;          // the pass's first chunk
    std::function<void(std::int64_t, std::int64_t)> report;
  };
  // A chunk to run now, starting a pass when one is due; nullopt when none is.
  std::optional<Chunk> due();
  // After a chunk: `more` keeps the pass going, false ends it until the next interval.
  void chunk_done(bool more);

 private:
  std::mutex mutex_;
  Retention retention_;
  std::chrono::steady_clock::time_point next_pass_;
  bool active_ = false;
  std::int64_t cutoff_ms_ = 0;
};

}  // namespace reckon::detail
