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
};

struct CanonicalSolution {
  double mu = 0.0;
  ElectronCount count;         // at mu
  int evaluations = 0;
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
                                           const CanonicalSolveOptions &options = CanonicalSolveOptions());

}    // namespace mlspin
