// Chemical potential of a fixed electron number (canonical electrons).
//
// Given a monotone electron number N_e(mu) (nondecreasing: dN_e/dmu is a
// compressibility, >= 0 in equilibrium), find mu in [mu_lo, mu_hi] with
// |N_e(mu) - N_target| <= rtol * N_target. Newton steps use dN_e/dmu from the caller;
// a bracket [a, b] with N_e(a) < N_target < N_e(b) is kept, and a step that would
// leave it is replaced by bisection (or, while an end of the allowed range is not yet
// known to bracket, by a step onto that end, which checks that the target is reachable).
//
// The counts are split over MPI ranks: count() returns this rank's part, reduce() sums
// the parts in place over all ranks. No MPI here; every rank sees the same sums and so
// takes the same steps. Failures throw mlspin::Error (UnreachableElectronNumber when
// the range cannot reach the target).
#pragma once

#include "core/error.h"

#include <functional>
#include <limits>

namespace mlspin {

struct ElectronCount {
  double electrons = 0.0;    // N_e
  double slope = 0.0;        // dN_e/dmu
};

using CountElectrons = std::function<ElectronCount(double mu)>;
using ReduceSum = std::function<void(double *values, int n)>;

struct CanonicalSolveOptions {
  double rtol = 1e-11;         // on N_e, relative to N_target
  int max_evaluations = 100;    // of count(); bisection down to adjacent doubles takes ~60
  // d2N_e/dmu2 from an earlier solve (NaN: unknown), for predicting the error of a
  // Newton step before a second count gives a new estimate (a secant of the slopes)
  double curvature_hint = std::numeric_limits<double>::quiet_NaN();
};

// A caller whose full evaluation (fields, energies) also gives N_e may let the solver
// skip the count that confirms the last Newton step: when the Newton step from a count
// is predicted to land within the tolerance (|N''| dmu^2/2 below a tenth of it, N'' from
// the slopes of the last two counts or from the hint of the options), the
// solver calls evaluate(mu) instead of count(mu). It returns this rank's N_e at mu and
// keeps its full results; when N_e misses the tolerance the solver calls discard() (the
// caller drops those results) and counts on from there.
struct Speculation {
  std::function<double(double mu)> evaluate;
  std::function<void()> discard;
};

struct CanonicalSolution {
  double mu = 0.0;
  ElectronCount count;         // at mu (the slope of the last count when evaluated)
  double curvature = std::numeric_limits<double>::quiet_NaN();    // latest estimate of d2N_e/dmu2
  int evaluations = 0;         // calls of count() and Speculation::evaluate()
  bool evaluated = false;      // mu comes from Speculation::evaluate(), whose results are kept
  int speculations = 0, missed = 0;
};

// N_target lies outside [N_e(mu_lo), N_e(mu_hi)]: both ends are given for the message.
class UnreachableElectronNumber : public Error {
 public:
  UnreachableElectronNumber(const std::string &what, double n_lo, double n_hi)
      : Error(what), electrons_at_lo(n_lo), electrons_at_hi(n_hi) {}
  double electrons_at_lo, electrons_at_hi;
};

// Sums the parts of every rank: the identity for a serial caller.
void no_reduction(double *values, int n);

CanonicalSolution solve_chemical_potential(const CountElectrons &count, const ReduceSum &reduce, double n_target,
                                           double mu_start, double mu_lo, double mu_hi,
                                           const CanonicalSolveOptions &options = CanonicalSolveOptions(),
                                           const Speculation *speculation = nullptr);

// Warm start of the next solve from the solutions of the last ones: a polynomial
// extrapolation of order 0 (the last mu), 1 or 2 through every stride-th solution,
// stride 1 to 4. Dynamics move mu smoothly, so that the extrapolation lands much closer
// than the last mu and one Newton step meets the tolerance. An integrator with several
// field evaluations per step (stages at different spin states) makes a sequence that
// is smooth only for the stride of its stage count; under noise order 0 does best. The
// (stride, order) used is the one whose prediction of the last solution was best.
class ChemicalPotentialPredictor {
 public:
  bool empty() const { return count_ == 0; }
  double predict() const;               // NaN when empty
  void record(double mu);               // a new solution
  void keep_last_only();                // after a jump (new run, spins set by hand)
  int order() const { return order_; }
  int stride() const { return stride_; }
  static constexpr int kMaxStride = 4, kHistory = 3 * kMaxStride;
  // state for restart files: count, stride, order, then the history, oldest first
  static constexpr int kStateSize = 3 + kHistory;
  void save(double *state) const;
  void load(const double *state);

 private:
  double history_[kHistory] = {};    // newest last; the last count_ are valid
  int count_ = 0;
  int stride_ = 1, order_ = 0;
  bool possible(int stride, int order) const { return count_ >= (order + 1) * stride; }
  double extrapolate(int stride, int order) const;
};

}    // namespace mlspin
