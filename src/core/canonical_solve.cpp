#include "core/canonical_solve.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace mlspin {

namespace {

std::string number(double v)
{
  char text[40];
  std::snprintf(text, sizeof text, "%.12g", v);
  return text;
}

}    // namespace

void no_reduction(double *, int) {}

/* ---------------------------------------------------------------------- */

// the next value from the values at the same stage: p_k = the value (k+1) strides before
// the next one, and the polynomial of the given order through p_0..p_order
double ChemicalPotentialPredictor::extrapolate(int stride, int order) const
{
  auto p = [&](int k) { return history_[kHistory - (k + 1) * stride]; };
  if (order == 2) return 3.0 * p(0) - 3.0 * p(1) + p(2);
  if (order == 1) return 2.0 * p(0) - p(1);
  return p(0);
}

double ChemicalPotentialPredictor::predict() const
{
  if (!count_) return std::numeric_limits<double>::quiet_NaN();
  return possible(stride_, order_) ? extrapolate(stride_, order_) : history_[kHistory - 1];
}

void ChemicalPotentialPredictor::record(double mu)
{
  // which (stride, order) would have predicted this solution best (ties: the first)
  if (count_ > 0) {
    double best = std::fabs(extrapolate(1, 0) - mu);
    stride_ = 1;
    order_ = 0;
    for (int s = 1; s <= kMaxStride; s++)
      for (int o = 0; o <= 2; o++)
        if (possible(s, o)) {
          const double error = std::fabs(extrapolate(s, o) - mu);
          if (error < best) {
            best = error;
            stride_ = s;
            order_ = o;
          }
        }
  }
  std::copy(history_ + 1, history_ + kHistory, history_);
  history_[kHistory - 1] = mu;
  count_ = std::min(count_ + 1, kHistory);
}

void ChemicalPotentialPredictor::keep_last_only()
{
  count_ = std::min(count_, 1);
  stride_ = 1;
  order_ = 0;
}

void ChemicalPotentialPredictor::save(double *state) const
{
  state[0] = count_;
  state[1] = stride_;
  state[2] = order_;
  std::copy(history_, history_ + kHistory, state + 3);
}

void ChemicalPotentialPredictor::load(const double *state)
{
  count_ = std::clamp(static_cast<int>(state[0]), 0, kHistory);
  stride_ = std::clamp(static_cast<int>(state[1]), 1, kMaxStride);
  order_ = std::clamp(static_cast<int>(state[2]), 0, 2);
  std::copy(state + 3, state + 3 + kHistory, history_);
}

CanonicalSolution solve_chemical_potential(const CountElectrons &count, const ReduceSum &reduce, double n_target,
                                           double mu_start, double mu_lo, double mu_hi,
                                           const CanonicalSolveOptions &options, const Speculation *speculation)
{
  if (!(mu_lo < mu_hi))
    throw Error("the chemical potential range [" + number(mu_lo) + ", " + number(mu_hi) + "] is empty");
  if (!(n_target > 0.0) || !std::isfinite(n_target))
    throw Error("the target electron number must be positive and finite, got " + number(n_target));

  CanonicalSolution solution;
  auto evaluate = [&](double mu) {
    const ElectronCount local = count(mu);
    double sums[2] = {local.electrons, local.slope};
    reduce(sums, 2);
    solution.evaluations++;
    if (!std::isfinite(sums[0]) || !std::isfinite(sums[1]))
      throw Error("the electron number at mu = " + number(mu) + " is not finite (N_e = " + number(sums[0]) +
                  ", dN_e/dmu = " + number(sums[1]) + ")");
    return ElectronCount{sums[0], sums[1]};
  };
  // the caller's full evaluation at mu: N_e over all ranks
  auto evaluate_fully = [&](double mu) {
    double n = speculation->evaluate(mu);
    reduce(&n, 1);
    solution.evaluations++;
    solution.speculations++;
    if (!std::isfinite(n)) throw Error("the electron number at mu = " + number(mu) + " is not finite");
    return n;
  };
  // at an end of the range and still on the wrong side: report both ends
  auto unreachable = [&](double mu_end, double n_end) {
    const bool at_lo = mu_end == mu_lo;
    const double n_other = evaluate(at_lo ? mu_hi : mu_lo).electrons;
    const double n_lo = at_lo ? n_end : n_other, n_hi = at_lo ? n_other : n_end;
    throw UnreachableElectronNumber("the electron number " + number(n_target) + " is outside the range N_e(" +
                                        number(mu_lo) + ") = " + number(n_lo) + " to N_e(" + number(mu_hi) +
                                        ") = " + number(n_hi) + " that mu in [" + number(mu_lo) + ", " +
                                        number(mu_hi) + "] reaches",
                                    n_lo, n_hi);
  };

  const double tolerance = options.rtol * n_target;
  double a = mu_lo, b = mu_hi;    // bracket: N_e(a) < n_target < N_e(b) where known
  bool a_known = false, b_known = false;
  double mu = std::isfinite(mu_start) ? std::clamp(mu_start, mu_lo, mu_hi) : 0.5 * (mu_lo + mu_hi);
  ElectronCount c;
  double mu_evaluated = mu;
  bool speculate = false;
  solution.curvature = options.curvature_hint;
  bool have_previous = false;
  double previous_mu = 0.0, previous_slope = 0.0;
  while (solution.evaluations < options.max_evaluations) {
    if (speculate) {
      const double n = evaluate_fully(mu);
      if (std::fabs(n - n_target) <= tolerance) {
        solution.mu = mu;
        solution.count = ElectronCount{n, c.slope};
        solution.evaluated = true;
        return solution;
      }
      speculation->discard();
      solution.missed++;
      speculate = false;
      continue;    // count at the same mu
    }
    c = evaluate(mu);
    mu_evaluated = mu;
    if (have_previous && mu != previous_mu) solution.curvature = (c.slope - previous_slope) / (mu - previous_mu);
    have_previous = true;
    previous_mu = mu;
    previous_slope = c.slope;
    const double residual = c.electrons - n_target;
    if (std::fabs(residual) <= tolerance) {
      solution.mu = mu;
      solution.count = c;
      return solution;
    }
    if (residual < 0.0) {
      if (mu >= mu_hi) unreachable(mu, c.electrons);
      a = mu;
      a_known = true;
    } else {
      if (mu <= mu_lo) unreachable(mu, c.electrons);
      b = mu;
      b_known = true;
    }
    double next = c.slope > 0.0 ? mu - residual / c.slope : std::numeric_limits<double>::quiet_NaN();
    // Newton's error after the step is |N''| dmu^2/2 to leading order
    speculate = speculation && next > a && next < b && std::isfinite(solution.curvature) &&
        0.5 * std::fabs(solution.curvature) * (next - mu) * (next - mu) <= 0.1 * tolerance;
    if (!(next > a && next < b)) {
      // Newton leaves the bracket: towards an end not yet known to bracket, go onto that
      // end (which also tells whether the target is reachable); otherwise bisect
      if (residual < 0.0 && !b_known)
        next = mu_hi;
      else if (residual > 0.0 && !a_known)
        next = mu_lo;
      else
        next = 0.5 * (a + b);
    }
    // a bracket as narrow as rounding allows (relative to the range, so that a jump at
    // mu = 0 is found as fast as one elsewhere) that still holds no solution
    const double resolution = 4.0 * std::numeric_limits<double>::epsilon() *
        std::max({std::fabs(a), std::fabs(b), mu_hi - mu_lo});
    if (a_known && b_known && (!(next > a && next < b) || b - a <= resolution))
      throw Error("N_e(mu) jumps over the target " + number(n_target) + " between mu = " + number(a) + " and " +
                  number(b) + " (within rounding): the electron number cannot be met to a relative " +
                  number(options.rtol) + "; a model with a smoother N_e(mu) (higher electron temperature) or a " +
                  "larger tolerance is needed");
    mu = next;
  }
  throw Error("no convergence after " + std::to_string(solution.evaluations) + " evaluations: N_e = " +
              number(c.electrons) + " at mu = " + number(mu_evaluated) + ", target " + number(n_target) + " (relative " +
              "tolerance " + number(options.rtol) + "); N_e(mu) may not be monotone in the model's mu range");
}

}    // namespace mlspin
