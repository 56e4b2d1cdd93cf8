// Integrators for the stochastic Landau-Lifshitz-Gilbert equation of unit spins s_i:
//
//   Gilbert form:  ds/dt = -1/(1+a^2) [ s x w + a s x (s x w) ]
//   LL form:       ds/dt =           -[ s x w + a s x (s x w) ]
//
// w_i is the precession vector (frequency units): the deterministic field
// fm_i = -(1/hbar) dE/ds_i plus the thermal noise, which is drawn once per step and
// used unchanged in every stage (Stratonovich). Both forms are ds/dt = Omega x s with
//   Omega = (w + a s x w) / (1+a^2)   (Gilbert),   Omega = w + a s x w   (LL).
//
// Schemes (all second order, all keep |s| = 1):
//  - SemiImplicitB: Mentink, Tretyakov, Fasolino, Katsnelson, Rasing,
//    J. Phys.: Condens. Matter 22, 176001 (2010). Predictor s~: Cayley rotation of s_n
//    with Omega(s_n). The field is evaluated at the normalised midpoint
//    (s_n + s~)/|s_n + s~| of s_n and the predictor (Mentink et al. use (s_n + s~)/2;
//    the field sources read sp as a unit direction with the magnitude in sp[3], and the
//    two differ by O(dt^2), which keeps the scheme second order). Corrector: Cayley
//    rotation of s_n with Omega at that midpoint, i.e. s' - s_n = dt Omega x (s_n+s')/2.
//  - DepondtMertens: Depondt and Mertens, J. Phys.: Condens. Matter 21, 336005 (2009).
//    Heun's method on rotations: rotate by Omega(s_n), then rotate s_n by the mean of
//    Omega(s_n) and Omega(s_predicted).
//  - Heun: explicit Heun with renormalisation of every stage.
//  - Midpoint: the spherical midpoint method of McLachlan, Modin and Verdier,
//    Phys. Rev. E 89, 061301(R) (2014), eq. (4): for every spin
//        s_i' - s_i = dt F_i(m),   m_i = (s_i + s_i') / |s_i + s_i'|,
//    with F_i(m) = Omega(m_i, w_i(m) + eta_i) x m_i the LLG right-hand side with the
//    fields of all spins evaluated at the midpoints m. |s_i'| = |s_i| exactly (s'-s is
//    orthogonal to s+s'). At alpha = 0 and without noise F_i = w_i(m) x m_i and the map
//    is symplectic for the product of the spheres' area forms. Damping and the noise
//    enter through Omega at the midpoint (Stratonovich, like the other schemes).
//    The implicit equation is solved to round-off by fixed-point iteration on the
//    midpoints, with the fields re-evaluated at every iteration.
// sib, depondt and heun need one field evaluation beyond the one at s_n; midpoint
// one per iteration.
#pragma once

#include "core/vec3.h"

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlspin {

enum class LLGForm { Gilbert, LandauLifshitz };
enum class LLGScheme { SemiImplicitB, DepondtMertens, Heun, Midpoint };

LLGScheme parse_llg_scheme(const std::string &name);    // "sib", "depondt", "heun", "midpoint"
LLGForm parse_llg_form(const std::string &name);        // "gilbert", "ll"
std::string to_string(LLGScheme scheme);

struct LLGSettings {
  double alpha = 0.0;
  LLGForm form = LLGForm::Gilbert;
  // midpoint: converged when no spin changes by more than the tolerance between two
  // iterations, or when the change stops decreasing after it has fallen by the factor
  // midpoint_stagnation_drop below that of the first iteration (the round-off floor of
  // the fields, e.g. of a single-precision model, is reached)
  double midpoint_tolerance = 1e-14;
  double midpoint_stagnation_drop = 1e-4;
  int midpoint_max_iterations = 100;
};

// The per-spin kernels below are inline: they run for every spin and stage, and an
// out-of-line call from the position-independent plugin cannot be inlined by the
// compiler (the symbol could be interposed), which made them a third of the
// integrator's cost.

// Omega with ds/dt = Omega x s for unit spin s and precession vector w.
inline Vec3 llg_rotation_vector(const Vec3 &s, const Vec3 &w, const LLGSettings &settings)
{
  const double a = settings.alpha;
  const Vec3 omega = w + a * cross(s, w);
  return settings.form == LLGForm::Gilbert ? (1.0 / (1.0 + a * a)) * omega : omega;
}

// s rotated by the Cayley transform of half_step = (dt/2) Omega: the implicit
// midpoint step x = s + half_step x (s + x), which preserves |s| exactly.
inline Vec3 cayley_rotate(const Vec3 &s, const Vec3 &h)
{
  // solve x - h x x = b with b = s + h x s:  x = (b + h x b + (h.b) h) / (1 + h.h)
  const Vec3 b = s + cross(h, s);
  return (1.0 / (1.0 + dot(h, h))) * (b + cross(h, b) + dot(h, b) * h);
}

// s rotated about omega by the angle |omega| dt (Rodrigues).
inline Vec3 exact_rotate(const Vec3 &s, const Vec3 &omega, double dt)
{
  const double rate = norm(omega);
  const double angle = rate * dt;
  if (angle == 0.0) return s;
  const Vec3 n = (1.0 / rate) * omega;
  const double c = std::cos(angle), sn = std::sin(angle);
  return c * s + sn * cross(n, s) + ((1.0 - c) * dot(n, s)) * n;
}

// Deterministic precession vectors w_i at the spins s_i (same length).
using FieldFunction = std::function<void(const std::vector<Vec3> &s, std::vector<Vec3> &w)>;

// Maximum of a value over all processes that share the spin system (identity when
// there is one); iterative schemes use it so that every rank takes the same decision.
using GlobalMax = std::function<double(double)>;

class LLGIntegrator {
 public:
  explicit LLGIntegrator(const LLGSettings &settings) : settings_(settings) {}
  virtual ~LLGIntegrator() = default;

  // One step of length dt. s: unit spins at t_n, replaced by those at t_n + dt.
  // w_start: deterministic fields at s (from the caller's last evaluation); noise:
  // frequency noise per spin for this step (empty when T = 0); fields: evaluates the
  // deterministic field at intermediate spins.
  virtual void step(std::vector<Vec3> &s, const std::vector<Vec3> &w_start,
                    const std::vector<Vec3> &noise, double dt, const FieldFunction &fields) = 0;

  const LLGSettings &settings() const { return settings_; }

  void set_global_max(GlobalMax global_max) { global_max_ = std::move(global_max); }

  // field evaluations (besides the one at s_n) of the last step
  int last_evaluations() const { return last_evaluations_; }

 protected:
  Vec3 omega(const Vec3 &s, const Vec3 &w, const std::vector<Vec3> &noise, size_t i) const
  {
    return llg_rotation_vector(s, noise.empty() ? w : w + noise[i], settings_);
  }

  LLGSettings settings_;
  GlobalMax global_max_ = [](double x) { return x; };
  int last_evaluations_ = 1;
  std::vector<Vec3> stage_s_, stage_w_, omega_start_;    // reused between steps
};

std::unique_ptr<LLGIntegrator> make_llg_integrator(LLGScheme scheme, const LLGSettings &settings);

}    // namespace mlspin
