#include "sdwalk/pacing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "sdwalk/error.hpp"
#include "sdwalk/walk.hpp"

namespace sdwalk {
namespace {

// A halving that leaves one half with more than this share of the whole did not shrink the jump.
constexpr double kNoShrink = 0.8;
// Halvings in a row without shrinking that make an interval a cut.
constexpr int kCutHalvings = 2;
// A blend's midpoint is accepted when each half keeps at most this share of the distance.
constexpr double kBalanced = 0.75;
// The coarse pass renders this share of the frames (at budget >= 1.5; all of them at budget 1).
constexpr double kCoarseShare = 0.5;
// A frame target this close to a rendered point (in spacings of the cumulative distance) takes it.
constexpr double kSnap = 0.25;
// A cut's blend step is searched from this share of the steps on, in steps of kStepShare.
constexpr double kFirstBlendStep = 0.3, kStepShare = 0.15;
// The frames are chosen minimising the sum of distance^4 between neighbours: near min-max (the
// largest jump is what the eye sees) while still evening out the rest; ^2 left jumps twice the median.
constexpr double kChoicePower = 4;
// Intervals narrower than this are not split further (a cut that blending could not bridge).
constexpr double kMinWidth = 1e-6;

struct Interval {
  int stubborn = 0;  // halvings in a row that did not shrink it
  bool cut = false;  // a cut: its midpoints are blends
  int k = 0;         // a blend interval: the step its midpoints mix at
  bool dead = false; // not worth splitting (or cannot be)
};

class Planner {
 public:
  Planner(const PacingOptions& o, const PointRenderer& render, const FrameDistance& distance)
      : o_(o), render_(render), distance_(distance) {}

  PacedSegment run() {
    coarse_pass();
    refine();
    place_frames();
    std::vector<size_t> chosen = choose(size_t(o_.frames));
    if (o_.max_jump > 0) chosen = add_frames_over_max_jump(chosen);
    out_.chosen = chosen;
    for (size_t i = 0; i + 1 < chosen.size(); ++i) out_.distances.push_back(dist(chosen[i], chosen[i + 1]));
    out_.cost = cost_;
    return std::move(out_);
  }

 private:
  double dist(size_t a, size_t b) {
    if (a > b) std::swap(a, b);
    auto it = memo_.find({a, b});
    if (it != memo_.end()) return it->second;
    const double d = distance_(images_[a], images_[b]);
    memo_.emplace(std::make_pair(a, b), d);
    return d;
  }

  // Renders the points, appends them; returns their indices.
  std::vector<size_t> render(const std::vector<PacingPoint>& points) {
    const size_t first = out_.points.size();
    std::vector<Image> images = render_(points, first);
    check(images.size() == points.size(), "pacing: the renderer returned " + std::to_string(images.size()) +
                                              " images for " + std::to_string(points.size()) + " points");
    std::vector<size_t> ids;
    for (size_t i = 0; i < points.size(); ++i) {
      out_.points.push_back(points[i]);
      images_.push_back(std::move(images[i]));
      cost_ += point_cost(points[i], o_.steps);
      ids.push_back(first + i);
    }
    return ids;
  }

  void insert_ordered(size_t id) {
    const double u = out_.points[id].u;
    auto it = std::upper_bound(order_.begin(), order_.end(), u,
                               [&](double v, size_t p) { return v < out_.points[p].u; });
    order_.insert(it, id);
  }

  void coarse_pass() {
    const int n = o_.frames;
    // With budget 1 the coarse pass is the whole walk; from 1.5 on, half of it (the rest refines).
    const double share = std::max(kCoarseShare, 1.0 - (o_.budget - 1.0));
    const int m0 = std::clamp(int(std::lround(double(n) * share)), std::min(n, 3), n);
    const std::vector<double> us = linspace(0.0, 1.0, m0);
    for (size_t b = 0; b < us.size(); b += size_t(std::max(1, o_.batch))) {
      std::vector<PacingPoint> batch;
      for (size_t i = b; i < std::min(us.size(), b + size_t(std::max(1, o_.batch))); ++i) batch.push_back({us[i]});
      for (size_t id : render(batch)) order_.push_back(id);
    }
  }

  double total_budget() const { return o_.budget * double(o_.frames); }

  // The adjacent pair (positions in order_) with the largest distance that may be split; -1 when none.
  long widest() {
    long best = -1;
    double best_d = -1;
    for (size_t i = 0; i + 1 < order_.size(); ++i) {
      const Interval& info = intervals_[{order_[i], order_[i + 1]}];
      if (info.dead) continue;
      const double d = dist(order_[i], order_[i + 1]);
      if (d > best_d) {
        best_d = d;
        best = long(i);
      }
    }
    return best;
  }

  double path_length() {
    double sum = 0;
    for (size_t i = 0; i + 1 < order_.size(); ++i) sum += dist(order_[i], order_[i + 1]);
    return sum;
  }

  int k_step() const { return std::max(1, int(std::lround(kStepShare * o_.steps))); }

  // Splits the interval at order_[pos], order_[pos + 1]: returns false when it cannot (budget, width).
  bool split(size_t pos) {
    const size_t l = order_[pos], r = order_[pos + 1];
    Interval info = intervals_[{l, r}];
    const PacingPoint pl = out_.points[l], pr = out_.points[r];  // copies: rendering appends to points
    const double u = 0.5 * (pl.u + pr.u);
    if (pr.u - pl.u < kMinWidth) {
      intervals_[{l, r}].dead = true;
      return false;
    }
    const double d = dist(l, r);
    const bool blend = info.cut || pl.blended() || pr.blended() || info.k > 0;
    const bool fresh = blend && info.k == 0;  // a cut met for the first time
    size_t m;
    if (!blend) {
      if (cost_ + 1 + reserve_ > total_budget() + 1e-9) return false;
      m = render({PacingPoint{u}})[0];
    } else {
      // A blend interval mixes at its k; a fresh cut looks for the earliest k that lands in between.
      int k = std::max({info.k, pl.k, pr.k});
      if (fresh) k = std::max(k, std::max(1, int(std::lround(kFirstBlendStep * o_.steps))));
      while (true) {
        if (k >= o_.steps) {
          intervals_[{l, r}].dead = true;
          note_cut(l, r, false);
          return false;
        }
        const PacingPoint p{u, k, int(l), int(r), 0.5};
        if (cost_ + point_cost(p, o_.steps) + reserve_ > total_budget() + 1e-9) return false;
        m = render({p})[0];
        const double worst = std::max(dist(l, m), dist(m, r));
        if (!fresh || worst <= kBalanced * d || k + k_step() >= o_.steps) break;
        k += k_step();  // this trial stays out of the walk: its layout is still one side's or a third
      }
      info.k = k;
      info.cut = true;
    }
    insert_ordered(m);
    const double d1 = dist(l, m), d2 = dist(m, r);
    Interval left, right;
    left.k = right.k = info.k;
    left.cut = right.cut = info.cut;
    Interval& bigger = d1 >= d2 ? left : right;
    if (std::max(d1, d2) > kNoShrink * d) {
      if (info.k > 0) {
        // Still jumps: the deeper branch mixes later, up to the last step; there it keeps halving
        // (the decoder is continuous in the latents), a few times more at most.
        bigger.k = std::min(info.k + k_step(), o_.steps - 1);
        bigger.stubborn = info.k == o_.steps - 1 ? info.stubborn + 1 : 0;
        if (bigger.stubborn > 4) bigger.dead = true;
      } else {
        bigger.stubborn = info.stubborn + 1;
        if (bigger.stubborn >= kCutHalvings) {
          if (o_.blend) {
            bigger.cut = true;
          } else if (bigger.stubborn >= kCutHalvings + 2) {
            bigger.dead = true;  // re-spacing only: a few halvings show it, more would only spend the budget
            note_cut(d1 >= d2 ? l : m, d1 >= d2 ? m : r, false);
          }
        }
      }
    }
    if (fresh) note_cut(l, r, true);
    intervals_.erase({l, r});
    intervals_[{l, m}] = left;
    intervals_[{m, r}] = right;
    return true;
  }

  void note_cut(size_t l, size_t r, bool blended) {
    out_.cuts.push_back({0.5 * (out_.points[l].u + out_.points[r].u), dist(l, r), blended});
  }

  // Bisects the widest interval while the budget, less what placing the frames would cost now, allows.
  void refine() {
    while (true) {
      const long pos = widest();
      if (pos < 0) break;
      // Fine enough: no neighbours differ by more than half the even spacing of the frames asked for.
      const double even = path_length() / double(o_.frames - 1);
      if (dist(order_[size_t(pos)], order_[size_t(pos) + 1]) <= 0.5 * even) break;
      reserve_ = 0;
      for (const PacingPoint& p : frames_to_place()) reserve_ += point_cost(p, o_.steps);
      if (!split(size_t(pos))) {
        if (!intervals_[{order_[size_t(pos)], order_[size_t(pos) + 1]}].dead) break;  // the budget is spent
      }
    }
    reserve_ = 0;
  }

  // The frames at even steps of the cumulative distance (the walk re-parameterised by how much the
  // picture changes, linear between rendered points) that no rendered point is close to: new points,
  // blends inside a blended interval. Targets near a rendered point (a quarter spacing) take it.
  std::vector<PacingPoint> frames_to_place() {
    std::vector<double> arc{0};
    for (size_t i = 0; i + 1 < order_.size(); ++i) arc.push_back(arc.back() + dist(order_[i], order_[i + 1]));
    const double spacing = arc.back() / double(o_.frames - 1);
    std::vector<PacingPoint> out;
    if (!(spacing > 0)) return out;
    size_t i = 0;
    for (int j = 1; j + 1 < o_.frames; ++j) {
      const double a = spacing * j;
      while (i + 2 < arc.size() && arc[i + 1] < a) ++i;
      if (std::min(a - arc[i], arc[i + 1] - a) <= kSnap * spacing) continue;
      const size_t l = order_[i], r = order_[i + 1];
      const Interval& info = intervals_[{l, r}];
      const PacingPoint& pl = out_.points[l];
      const PacingPoint& pr = out_.points[r];
      const double f = (a - arc[i]) / (arc[i + 1] - arc[i]);
      const double u = pl.u + f * (pr.u - pl.u);
      const int k = std::max({info.k, pl.k, pr.k});
      if (info.k > 0 || pl.blended() || pr.blended()) {
        if (k < o_.steps) out.push_back({u, k, int(l), int(r), f});  // else: no later step to mix at
      }
      else if (!info.cut)
        out.push_back({u});
      // a cut not bridged yet: a frame inside it would show one side or the other
    }
    return out;
  }

  // Renders the frames frames_to_place asks for, as far as the budget goes (full renders together).
  void place_frames() {
    std::vector<PacingPoint> full, blends;
    double spent = cost_;
    for (const PacingPoint& p : frames_to_place()) {
      if (spent + point_cost(p, o_.steps) > total_budget() + 1e-9) continue;
      spent += point_cost(p, o_.steps);
      (p.blended() ? blends : full).push_back(p);
    }
    const size_t batch = size_t(std::max(1, o_.batch));
    for (size_t b = 0; b < full.size(); b += batch) {
      const std::vector<PacingPoint> part(full.begin() + long(b), full.begin() + long(std::min(full.size(), b + batch)));
      for (size_t id : render(part)) insert_ordered(id);
    }
    for (const PacingPoint& p : blends) insert_ordered(render({p})[0]);
  }

  // `count` points of order_, the first and the last among them, with the least sum of distance^4 of the
  // adjacent distances. A frame skips at most `window` points (the rest would be far apart anyway).
  std::vector<size_t> choose(size_t count) {
    const size_t m = order_.size();
    check(m >= count, "pacing: " + std::to_string(m) + " frames rendered for " + std::to_string(count));
    const size_t window = std::max<size_t>(4, 2 * ((m + count - 1) / count) + 2);
    const double inf = std::numeric_limits<double>::infinity();
    // best[c][j]: least cost of a path of c + 1 points from order_[0] to order_[j].
    std::vector<std::vector<double>> best(count, std::vector<double>(m, inf));
    std::vector<std::vector<size_t>> from(count, std::vector<size_t>(m, 0));
    best[0][0] = 0;
    for (size_t c = 1; c < count; ++c)
      for (size_t j = c; j < m; ++j)
        for (size_t i = (j > window ? j - window : 0); i < j; ++i) {
          if (best[c - 1][i] == inf) continue;
          const double d = dist(order_[i], order_[j]);
          const double v = best[c - 1][i] + std::pow(d, kChoicePower);
          if (v < best[c][j]) {
            best[c][j] = v;
            from[c][j] = i;
          }
        }
    check(best[count - 1][m - 1] < inf, "pacing: no choice of frames spans the segment");
    std::vector<size_t> path(count);
    size_t j = m - 1;
    for (size_t c = count - 1;; --c) {
      path[c] = order_[j];
      if (c == 0) break;
      j = from[c][j];
    }
    return path;
  }

  std::vector<size_t> add_frames_over_max_jump(std::vector<size_t> chosen) {
    unfixable_.clear();
    while (true) {
      size_t worst = chosen.size();
      double worst_d = o_.max_jump;
      for (size_t i = 0; i + 1 < chosen.size(); ++i) {
        const double d = dist(chosen[i], chosen[i + 1]);
        if (d > worst_d && !unfixable_.count({chosen[i], chosen[i + 1]})) {
          worst_d = d;
          worst = i;
        }
      }
      if (worst == chosen.size()) return chosen;
      const size_t a = chosen[worst], b = chosen[worst + 1];
      auto pa = std::find(order_.begin(), order_.end(), a), pb = std::find(order_.begin(), order_.end(), b);
      if (pb - pa == 1 && !split(size_t(pa - order_.begin()))) {
        unfixable_.insert({a, b});
        continue;
      }
      pa = std::find(order_.begin(), order_.end(), a);
      pb = std::find(order_.begin(), order_.end(), b);
      size_t pick = *(pa + 1);
      double pick_d = std::numeric_limits<double>::infinity();
      for (auto p = pa + 1; p < pb; ++p) {
        const double v = std::max(dist(a, *p), dist(*p, b));
        if (v < pick_d) {
          pick_d = v;
          pick = *p;
        }
      }
      chosen.insert(chosen.begin() + long(worst) + 1, pick);
    }
  }

  const PacingOptions& o_;
  const PointRenderer& render_;
  const FrameDistance& distance_;
  PacedSegment out_;
  std::vector<Image> images_;
  std::vector<size_t> order_;  // accepted points by u
  std::map<std::pair<size_t, size_t>, Interval> intervals_;
  std::map<std::pair<size_t, size_t>, double> memo_;
  std::set<std::pair<size_t, size_t>> unfixable_;  // over max_jump, and nothing more to render there
  double cost_ = 0;
  double reserve_ = 0;  // budget kept for placing the frames (refine)
};

}  // namespace

double point_cost(const PacingPoint& p, int steps) {
  return p.k <= 0 ? 1.0 : double(steps - p.k) / double(steps);
}

PacedSegment pace_segment(const PacingOptions& o, const PointRenderer& render, const FrameDistance& distance) {
  check(o.frames >= 2, "pacing: a segment needs at least 2 frames, got " + std::to_string(o.frames));
  check(std::isfinite(o.budget) && o.budget >= 1, "pacing: the budget must be at least 1 render per frame");
  check(o.steps >= 1, "pacing: at least 1 denoising step");
  return Planner(o, render, distance).run();
}

}  // namespace sdwalk
