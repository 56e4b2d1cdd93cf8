// Thermal noise for stochastic LLG, reproducible independently of the MPI rank count.
//
// Each spin's noise for a step is a pure function of (seed, atom id, step): a
// counter-based generator (Philox4x32-10; Salmon, Moraes, Dror, Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC'11) turns the counter into four uniforms, and the
// Box-Muller transform into Gaussians. So trajectories at T > 0 do not depend on how
// atoms are distributed over ranks, and a restarted run draws the same numbers.
#pragma once

#include "core/vec3.h"

#include <array>
#include <cstdint>

namespace mlspin {

enum class LLGForm;

// Philox4x32-10 block: 128 random bits for a 128-bit counter and a 64-bit key.
std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// Three independent standard normal numbers for (seed, id, step).
Vec3 gaussian3(uint64_t seed, uint64_t id, uint64_t step);

// Standard deviation of each component of the frequency noise added to the
// precession vector w for one step of length dt (Brown, Phys. Rev. 130, 1677 (1963),
// in the convention fm = -(1/hbar) dE/ds):
//   Gilbert form:        <eta_a eta_b> = 2 alpha kT / hbar        delta_ab delta(t-t')
//   Landau-Lifshitz form: <eta_a eta_b> = 2 alpha kT / (hbar (1+alpha^2)) ...
// so that the stationary distribution of s is exp(-E(s)/kT) in both.
double thermal_noise_sigma(double alpha, double kT, double hbar, double dt, LLGForm form);

}    // namespace mlspin
