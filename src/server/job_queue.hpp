#pragma once
// The server's walks: each a run folder under the runs root, queued and rendered one at a time by
// one worker thread through Engine::walk (the engine is never used by two threads at once; a
// generate request runs on the same worker, before the next walk). Progress and finished frames
// are kept as events for the server-sent event streams. Cancelling makes the callbacks return
// false: Engine::walk throws Cancelled and the run folder stays resumable.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server/runs_root.hpp"
#include "server/served_model.hpp"

namespace sdwalk::server {

enum class JobState { Queued, Running, Done, Failed, Cancelled };
const char* state_name(JobState s);

struct JobEvent {
  std::string name;  // state | progress | frame
  std::string data;  // JSON
};

class JobQueue {
 public:
  JobQueue(const ServedModel& model, const RunsRoot& root);
  ~JobQueue();  // stop(), and joins the worker
  // Cancels the running walk (it stays resumable), takes no more work and ends the event streams.
  void stop();

  // A new walk from checked settings: its run folder (settings.json) is written now, so that a
  // queued walk survives a restart as a resumable run. Returns its id.
  std::string submit(WalkSettings settings);
  // HttpError 404 for an unknown id, 409 for a finished walk.
  nlohmann::json cancel(const std::string& id);
  nlohmann::json resume(const std::string& id);
  nlohmann::json status(const std::string& id);  // HttpError 404 when unknown
  nlohmann::json list();                         // every run, also those found on disk, oldest first
  // The run folder of a known walk (HttpError 404 otherwise) and its settings.
  std::filesystem::path run_dir(const std::string& id);
  WalkSettings settings(const std::string& id);
  bool done(const std::string& id);
  // Runs `task` on the worker thread before the next walk and waits for it (exceptions pass on).
  void run_exclusive(const std::function<void()>& task);
  // What an event stream has sent of a walk: the log's state and frame events up to `next`, and the
  // version of the latest progress (kept once, not logged: a long walk has many steps).
  struct StreamPosition {
    size_t next = 0;
    uint64_t progress = 0;
  };
  // The walk's events after `at` (and its latest progress when newer); waits up to `wait` for some.
  // `finished`: the walk is in a final state (or the server stops) and everything is in the answer.
  std::vector<JobEvent> events(const std::string& id, StreamPosition& at, std::chrono::milliseconds wait,
                               bool& finished);

 private:
  struct Job;
  std::shared_ptr<Job> find(const std::string& id);  // lock held; nullptr when unknown
  void scan_disk();                                  // lock held
  nlohmann::json status_of(const Job& job) const;    // lock held
  void add_event(Job& job, const std::string& name, const nlohmann::json& data);  // lock held
  void set_progress(Job& job);                                                    // lock held
  std::string new_id();                              // lock held
  void worker();
  void render(const std::shared_ptr<Job>& job);

  const ServedModel& model_;
  const RunsRoot& root_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> pending_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  uint64_t next_order_ = 0;
  std::thread worker_;
};

}  // namespace sdwalk::server
