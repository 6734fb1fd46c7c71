#include "server/job_queue.hpp"

#include <algorithm>
#include <ctime>
#include <future>
#include <random>

#include "core/atomic_file.hpp"
#include "sdwalk/run_folder.hpp"
#include "server/http_error.hpp"

namespace sdwalk::server {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* state_name(JobState s) {
  switch (s) {
    case JobState::Queued: return "queued";
    case JobState::Running: return "running";
    case JobState::Done: return "done";
    case JobState::Failed: return "failed";
    case JobState::Cancelled: return "cancelled";
  }
  return "?";
}

namespace {

bool final_state(JobState s) { return s == JobState::Done || s == JobState::Failed || s == JobState::Cancelled; }

void write_settings(const fs::path& dir, const WalkSettings& s) {
  const std::string text = s.to_json().dump(2) + "\n";
  AtomicFile f(dir / "settings.json");
  f.write(text.data(), text.size());
  f.commit();
}

}  // namespace

struct JobQueue::Job {
  std::string id;
  fs::path dir;
  WalkSettings settings;
  JobState state = JobState::Queued;
  std::string error;
  size_t frames_total = 0, frames_done = 0, to_render = 0, done_at_start = 0;
  int step = 0, steps = 0;
  bool cancel = false;
  Clock::time_point render_start;
  std::vector<JobEvent> events;  // state and frame events
  std::string progress;          // the latest progress event's data
  uint64_t progress_version = 0;
  uint64_t order = 0;
};

JobQueue::JobQueue(const ServedModel& model, const RunsRoot& root) : model_(model), root_(root) {
  {
    std::lock_guard lock(mutex_);
    scan_disk();
  }
  worker_ = std::thread([this] { worker(); });
}

JobQueue::~JobQueue() {
  stop();
  worker_.join();
}

void JobQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
}

std::shared_ptr<JobQueue::Job> JobQueue::find(const std::string& id) {
  root_.run_dir(id);  // 400 for a malformed id
  const auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second;
}

void JobQueue::scan_disk() {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_.dir(), ec)) {
    const std::string name = e.path().filename().string();
    if (!valid_run_id(name) || jobs_.count(name) || e.is_symlink() || !e.is_directory()) continue;
    if (!fs::is_regular_file(e.path() / "settings.json")) continue;
    found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  for (const std::string& name : found) {
    auto job = std::make_shared<Job>();
    job->id = name;
    job->dir = root_.dir() / name;
    try {
      RunFolder run = RunFolder::open(job->dir);
      job->settings = run.settings();
      job->frames_total = size_t(std::max<int64_t>(0, job->settings.frame_count));
      job->frames_done = job->frames_total - run.missing_frames(job->frames_total).size();
      // Done: its animation is there (PNG frames, from sdwalk walk: every frame is).
      const fs::path animation = root_.dir() / (name + "." + job->settings.format);
      const bool done = job->settings.format == "png" ? job->frames_total > 0 && job->frames_done == job->frames_total
                                                      : fs::is_regular_file(animation);
      job->state = done ? JobState::Done : JobState::Cancelled;
    } catch (const std::exception& e) {
      job->state = JobState::Failed;
      job->error = e.what();
    }
    job->order = next_order_++;
    jobs_[name] = job;
  }
}

std::string JobQueue::new_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "walk-%Y%m%d-%H%M%S", std::gmtime(&now));
  for (;;) {
    char id[64];
    std::snprintf(id, sizeof id, "%s-%04x", stamp, unsigned(rng() & 0xffff));
    if (!jobs_.count(id) && !fs::exists(root_.dir() / id) && !fs::exists(root_.dir() / (std::string(id) + ".gif")))
      return id;
  }
}

void JobQueue::add_event(Job& job, const std::string& name, const nlohmann::json& data) {
  job.events.push_back({name, data.dump()});
  changed_.notify_all();
}

void JobQueue::set_progress(Job& job) {
  job.progress = status_of(job).dump();
  ++job.progress_version;
  changed_.notify_all();
}

nlohmann::json JobQueue::status_of(const Job& j) const {
  double partial = 0;
  if (j.state == JobState::Running && j.steps > 0) partial = double(j.step) / j.steps * std::max(1, j.settings.batch_size);
  double progress = j.frames_total ? (double(j.frames_done) + partial) / double(j.frames_total) : 0;
  if (j.state == JobState::Done) progress = 1;
  nlohmann::json eta = nullptr;
  if (j.state == JobState::Running) {
    const double work = double(j.frames_done) - double(j.done_at_start) + partial;
    const double elapsed = std::chrono::duration<double>(Clock::now() - j.render_start).count();
    if (work > 0) eta = std::max(0.0, elapsed / work * (double(j.to_render) - work));
  }
  int position = -1;
  for (size_t i = 0; i < pending_.size(); ++i)
    if (pending_[i]->id == j.id) position = int(i);
  return {{"id", j.id},
          {"state", state_name(j.state)},
          {"mode", walk_mode_name(j.settings.mode)},
          {"prompts", j.settings.prompts},
          {"seeds", j.settings.seeds},
          {"width", j.settings.width},
          {"height", j.settings.height},
          {"format", j.settings.format},
          {"frames_total", j.frames_total},
          {"frames_done", j.frames_done},
          {"progress", std::min(1.0, progress)},
          {"eta_s", eta},
          {"queue_position", position},
          {"error", j.error},
          {"resumable", j.state == JobState::Cancelled || j.state == JobState::Failed},
          {"frame_duration_ms", j.settings.frame_duration_ms},
          {"ping_pong", j.settings.ping_pong}};
}

std::string JobQueue::submit(WalkSettings settings) {
  std::lock_guard lock(mutex_);
  if (stop_) throw HttpError(503, "the server is stopping");
  constexpr size_t kMaxQueued = 1000;
  if (pending_.size() >= kMaxQueued)
    throw HttpError(503, "the queue is full (" + std::to_string(kMaxQueued) + " walks waiting); try again later");
  const std::string id = new_id();
  settings.output = (root_.dir() / (id + "." + settings.format)).string();
  RunFolder run = RunFolder::create(settings, root_.dir());
  check(run.dir() == root_.dir() / id, "internal: unexpected run folder " + run.dir().string());
  fs::create_directory(run.dir());
  write_settings(run.dir(), run.settings());
  auto job = std::make_shared<Job>();
  job->id = id;
  job->dir = run.dir();
  job->settings = run.settings();
  job->order = next_order_++;
  jobs_[id] = job;
  pending_.push_back(job);
  add_event(*job, "state", status_of(*job));
  return id;
}

nlohmann::json JobQueue::cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto job = find(id);
  if (!job) throw HttpError(404, "no walk " + id);
  if (job->state == JobState::Done) throw HttpError(409, "walk " + id + " is done");
  if (job->state == JobState::Queued) {
    pending_.erase(std::remove(pending_.begin(), pending_.end(), job), pending_.end());
    job->state = JobState::Cancelled;
    add_event(*job, "state", status_of(*job));
  } else if (job->state == JobState::Running) {
    job->cancel = true;  // the next callback returns false
  }
  return status_of(*job);
}

nlohmann::json JobQueue::resume(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (stop_) throw HttpError(503, "the server is stopping");
  const auto job = find(id);
  if (!job) throw HttpError(404, "no walk " + id);
  if (!final_state(job->state)) throw HttpError(409, "walk " + id + " is " + state_name(job->state) + " already");
  if (job->state == JobState::Done) throw HttpError(409, "walk " + id + " is done");
  job->state = JobState::Queued;
  job->cancel = false;
  job->error.clear();
  pending_.push_back(job);
  add_event(*job, "state", status_of(*job));
  return status_of(*job);
}

nlohmann::json JobQueue::status(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto job = find(id);
  if (!job) throw HttpError(404, "no walk " + id);
  return status_of(*job);
}

nlohmann::json JobQueue::list() {
  std::lock_guard lock(mutex_);
  scan_disk();  // runs another server (or sdwalk walk) left in the folder since
  std::vector<std::shared_ptr<Job>> all;
  for (const auto& [id, job] : jobs_) all.push_back(job);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a->order < b->order; });
  nlohmann::json out = nlohmann::json::array();
  for (const auto& job : all) out.push_back(status_of(*job));
  return out;
}

fs::path JobQueue::run_dir(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto job = find(id);
  if (!job) throw HttpError(404, "no walk " + id);
  return job->dir;
}

WalkSettings JobQueue::settings(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto job = find(id);
  if (!job) throw HttpError(404, "no walk " + id);
  return job->settings;
}

bool JobQueue::done(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto job = find(id);
  if (!job) throw HttpError(404, "no walk " + id);
  return job->state == JobState::Done;
}

void JobQueue::run_exclusive(const std::function<void()>& task) {
  std::promise<void> promise;
  {
    std::lock_guard lock(mutex_);
    if (stop_) throw HttpError(503, "the server is stopping");
    tasks_.push_back([&] {
      try {
        task();
        promise.set_value();
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
    });
  }
  changed_.notify_all();
  promise.get_future().get();
}

std::vector<JobEvent> JobQueue::events(const std::string& id, StreamPosition& at, std::chrono::milliseconds wait,
                                       bool& finished) {
  std::unique_lock lock(mutex_);
  const auto job = find(id);
  if (!job) throw HttpError(404, "no walk " + id);
  changed_.wait_for(lock, wait, [&] {
    return stop_ || job->events.size() > at.next || job->progress_version > at.progress || final_state(job->state);
  });
  std::vector<JobEvent> out;
  for (size_t i = at.next; i < job->events.size(); ++i) out.push_back(job->events[i]);
  at.next = job->events.size();
  if (job->progress_version > at.progress && !final_state(job->state)) out.push_back({"progress", job->progress});
  at.progress = job->progress_version;
  finished = stop_ || final_state(job->state);
  return out;
}

void JobQueue::worker() {
  for (;;) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stop_ || !tasks_.empty() || !pending_.empty(); });
    if (stop_) {
      for (auto& t : tasks_) t();  // each answers 503-like: they run, the server is stopping anyway
      return;
    }
    if (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      continue;
    }
    auto job = pending_.front();
    pending_.pop_front();
    job->state = JobState::Running;
    job->render_start = Clock::now();
    job->step = job->steps = 0;
    add_event(*job, "state", status_of(*job));
    lock.unlock();
    render(job);
  }
}

void JobQueue::render(const std::shared_ptr<Job>& job) {
  JobState end = JobState::Done;
  std::string error;
  try {
    RunFolder run = RunFolder::open(job->dir);
    // The animation goes beside the run folder, whatever path the settings.json names.
    if (run.settings().format != "png")  // (PNG frames: the run folder is the output)
      run.settings().output = (root_.dir() / (job->id + "." + run.settings().format)).string();
    Callbacks callbacks;
    callbacks.on_plan = [&](size_t frames, size_t to_render) {
      write_settings(job->dir, run.settings());  // now with the fingerprint and frame count
      std::lock_guard lock(mutex_);
      job->settings = run.settings();
      job->frames_total = frames;
      job->to_render = to_render;
      job->done_at_start = frames - to_render;
      job->frames_done = 0;
      job->render_start = Clock::now();
      set_progress(*job);
    };
    callbacks.on_step = [&](int step, int steps) {
      std::lock_guard lock(mutex_);
      job->step = step;
      job->steps = steps;
      set_progress(*job);
      return !job->cancel && !stop_;
    };
    callbacks.on_frame = [&](size_t index, const Image&) {
      std::lock_guard lock(mutex_);
      job->frames_done = index + 1;
      job->step = 0;
      add_event(*job, "frame", {{"index", index}, {"frames_done", job->frames_done}, {"frames_total", job->frames_total}});
      return !job->cancel && !stop_;
    };
    model_.engine->walk(run, callbacks);
  } catch (const Cancelled&) {
    end = JobState::Cancelled;
  } catch (const std::exception& e) {
    end = JobState::Failed;
    error = e.what();
  }
  std::lock_guard lock(mutex_);
  job->state = end;
  job->error = error;
  job->cancel = false;
  if (end == JobState::Done) job->frames_done = job->frames_total;
  add_event(*job, "state", status_of(*job));
}

}  // namespace sdwalk::server
