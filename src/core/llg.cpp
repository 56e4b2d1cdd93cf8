#include "core/llg.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mlspin {

LLGScheme parse_llg_scheme(const std::string &name)
{
  if (name == "sib") return LLGScheme::SemiImplicitB;
  if (name == "depondt") return LLGScheme::DepondtMertens;
  if (name == "heun") return LLGScheme::Heun;
  if (name == "midpoint") return LLGScheme::Midpoint;
  throw Error("unknown integrator '" + name + "': use sib, depondt, heun or midpoint");
}

LLGForm parse_llg_form(const std::string &name)
{
  if (name == "gilbert") return LLGForm::Gilbert;
  if (name == "ll") return LLGForm::LandauLifshitz;
  throw Error("unknown LLG form '" + name + "': use gilbert or ll");
}

std::string to_string(LLGScheme scheme)
{
  switch (scheme) {
    case LLGScheme::SemiImplicitB: return "sib";
    case LLGScheme::DepondtMertens: return "depondt";
    case LLGScheme::Heun: return "heun";
    case LLGScheme::Midpoint: return "midpoint";
  }
  return "?";
}

namespace {

  // Spins are advanced in blocks: the divisions and square roots of a block run in loops
  // of their own, which the compiler pipelines and vectorises. Spin by spin they formed a
  // chain of dependent divisions that took a third of the integrator's time. Every spin
  // sees the arithmetic of cayley_rotate and normalized, so the results are the same.
  constexpr size_t kBlock = 64;

  // out[j] = cayley_rotate(s[j], h[j]) for j < m; out may be s
  void cayley_rotate_block(const Vec3 *s, const Vec3 *h, Vec3 *out, size_t m)
  {
    double scale[kBlock];
    for (size_t j = 0; j < m; ++j) scale[j] = 1.0 + dot(h[j], h[j]);
    for (size_t j = 0; j < m; ++j) scale[j] = 1.0 / scale[j];
    for (size_t j = 0; j < m; ++j) {
      const Vec3 b = s[j] + cross(h[j], s[j]);
      out[j] = scale[j] * (b + cross(h[j], b) + dot(h[j], b) * h[j]);
    }
  }

  // v[j] = normalized(v[j]) for j < m
  void normalize_block(Vec3 *v, size_t m)
  {
    double scale[kBlock];
    for (size_t j = 0; j < m; ++j) scale[j] = std::sqrt(dot(v[j], v[j]));
    for (size_t j = 0; j < m; ++j) scale[j] = 1.0 / scale[j];
    for (size_t j = 0; j < m; ++j) v[j] = scale[j] * v[j];
  }

  // Semi-implicit scheme B (Mentink et al. 2010): one predictor, one corrector. The field
  // is evaluated at the normalised midpoint of s_n and the predictor, because the field
  // sources read unit directions (see llg.h); the corrector is the Cayley map with
  // (dt/2) Omega, i.e. s' - s = dt Omega x (s + s')/2 as published.
  class SemiImplicitB : public LLGIntegrator {
   public:
    using LLGIntegrator::LLGIntegrator;

    void step(std::vector<Vec3> &s, const std::vector<Vec3> &w_start, const std::vector<Vec3> &noise,
              double dt, const FieldFunction &fields) override
    {
      const size_t n = s.size();
      stage_s_.resize(n);
      Vec3 half_step[kBlock];
      for (size_t first = 0; first < n; first += kBlock) {
        const size_t m = std::min(kBlock, n - first);
        const Vec3 *s_n = s.data() + first;
        Vec3 *mid = stage_s_.data() + first;
        for (size_t j = 0; j < m; ++j) half_step[j] = (0.5 * dt) * omega(s_n[j], w_start[first + j], noise, first + j);
        cayley_rotate_block(s_n, half_step, mid, m);    // the predictor
        for (size_t j = 0; j < m; ++j) mid[j] = 0.5 * (s_n[j] + mid[j]);
        normalize_block(mid, m);
      }
      fields(stage_s_, stage_w_);
      for (size_t first = 0; first < n; first += kBlock) {
        const size_t m = std::min(kBlock, n - first);
        for (size_t j = 0; j < m; ++j)
          half_step[j] = (0.5 * dt) * omega(stage_s_[first + j], stage_w_[first + j], noise, first + j);
        cayley_rotate_block(s.data() + first, half_step, s.data() + first, m);    // the corrector
      }
      last_evaluations_ = 1;
    }
  };

  // Spherical midpoint method (McLachlan, Modin, Verdier 2014): s' - s = dt Omega(m) x m
  // with m = (s + s')/|s + s'|. Given the midpoint fields, s' is the Cayley rotation of s
  // with half step dt Omega / |s + s'|; the iteration updates the midpoints, the fields
  // and |s + s'| together until s' stops changing, so every iterate stays on the sphere
  // and the fixed point is the published method.
  class SphericalMidpoint : public LLGIntegrator {
   public:
    using LLGIntegrator::LLGIntegrator;

    void step(std::vector<Vec3> &s, const std::vector<Vec3> &w_start, const std::vector<Vec3> &noise,
              double dt, const FieldFunction &fields) override
    {
      const size_t n = s.size();
      next_.resize(n);
      stage_s_.resize(n);
      for (size_t i = 0; i < n; ++i)    // initial guess: Omega frozen at s_n
        next_[i] = cayley_rotate(s[i], (0.5 * dt) * omega(s[i], w_start[i], noise, i));
      double first_change = 0.0, previous_change = HUGE_VAL;
      for (last_evaluations_ = 1;; ++last_evaluations_) {
        for (size_t i = 0; i < n; ++i) stage_s_[i] = normalized(s[i] + next_[i]);
        fields(stage_s_, stage_w_);
        double change = 0.0;
        for (size_t i = 0; i < n; ++i) {
          const double chord = norm(s[i] + next_[i]);    // |s + s'|
          const Vec3 update = cayley_rotate(s[i], (dt / chord) * omega(stage_s_[i], stage_w_[i], noise, i));
          change = std::max(change, norm(update - next_[i]));
          next_[i] = update;
        }
        change = global_max_(change);    // every rank takes the same decision
        if (last_evaluations_ == 1) first_change = change;
        if (converged(change, previous_change, first_change)) break;
        if (last_evaluations_ >= settings_.midpoint_max_iterations || !std::isfinite(change))
          throw Error("midpoint iteration did not converge in " + std::to_string(last_evaluations_) +
                      " iterations (largest change of a spin in the last one: " + format_change(change) +
                      "): reduce the time step");
        previous_change = change;
      }
      s.swap(next_);
    }

   private:
    // below the tolerance, or no longer decreasing once round-off dominates
    bool converged(double change, double previous_change, double first_change) const
    {
      if (change <= settings_.midpoint_tolerance) return true;
      return change >= previous_change && previous_change <= settings_.midpoint_stagnation_drop * first_change;
    }

    static std::string format_change(double change)
    {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.3g", change);
      return buffer;
    }

    std::vector<Vec3> next_;
  };

  class DepondtMertens : public LLGIntegrator {
   public:
    using LLGIntegrator::LLGIntegrator;
    void step(std::vector<Vec3> &s, const std::vector<Vec3> &w_start, const std::vector<Vec3> &noise,
              double dt, const FieldFunction &fields) override
    {
      const size_t n = s.size();
      stage_s_.resize(n);
      omega_start_.resize(n);
      for (size_t i = 0; i < n; ++i) {
        omega_start_[i] = omega(s[i], w_start[i], noise, i);
        stage_s_[i] = exact_rotate(s[i], omega_start_[i], dt);
      }
      fields(stage_s_, stage_w_);
      for (size_t i = 0; i < n; ++i) {
        const Vec3 mean = 0.5 * (omega_start_[i] + omega(stage_s_[i], stage_w_[i], noise, i));
        s[i] = exact_rotate(s[i], mean, dt);
      }
    }
  };

  class Heun : public LLGIntegrator {
   public:
    using LLGIntegrator::LLGIntegrator;
    void step(std::vector<Vec3> &s, const std::vector<Vec3> &w_start, const std::vector<Vec3> &noise,
              double dt, const FieldFunction &fields) override
    {
      const size_t n = s.size();
      stage_s_.resize(n);
      omega_start_.resize(n);    // holds ds/dt at s_n
      for (size_t i = 0; i < n; ++i) {
        omega_start_[i] = cross(omega(s[i], w_start[i], noise, i), s[i]);
        stage_s_[i] = normalized(s[i] + dt * omega_start_[i]);
      }
      fields(stage_s_, stage_w_);
      for (size_t i = 0; i < n; ++i) {
        const Vec3 rate_end = cross(omega(stage_s_[i], stage_w_[i], noise, i), stage_s_[i]);
        s[i] = normalized(s[i] + (0.5 * dt) * (omega_start_[i] + rate_end));
      }
    }
  };

}    // namespace

std::unique_ptr<LLGIntegrator> make_llg_integrator(LLGScheme scheme, const LLGSettings &settings)
{
  if (!(settings.alpha >= 0.0)) throw Error("damping alpha must be >= 0");
  switch (scheme) {
    case LLGScheme::SemiImplicitB: return std::make_unique<SemiImplicitB>(settings);
    case LLGScheme::DepondtMertens: return std::make_unique<DepondtMertens>(settings);
    case LLGScheme::Heun: return std::make_unique<Heun>(settings);
    case LLGScheme::Midpoint: return std::make_unique<SphericalMidpoint>(settings);
  }
  throw Error("unknown LLG scheme");
}

}    // namespace mlspin
