// Small analytic spin models for the core integrator tests (hbar = 1).
#pragma once

#include "core/llg.h"
#include "core/vec3.h"

#include <cmath>
#include <vector>

namespace mlspin_test {

using mlspin::Vec3;

// E = -J sum_<ij> s_i.s_j (nearest neighbours on a ring) - K sum_i (s_i.n)^2 - |S| h . sum_i s_i
struct HeisenbergRing {
  double J = 1.0, K = 0.0, magnitude = 1.0;
  Vec3 n{0.0, 0.0, 1.0}, h{0.0, 0.0, 0.0};

  double energy(const std::vector<Vec3> &s) const
  {
    const size_t N = s.size();
    double e = 0.0;
    for (size_t i = 0; i < N; ++i) {
      if (N > 1 && (N > 2 || i == 0)) e -= J * dot(s[i], s[(i + 1) % N]);
      const double c = dot(s[i], n);
      e -= K * c * c + magnitude * dot(h, s[i]);
    }
    return e;
  }

  // w_i = -dE/ds_i
  void fields(const std::vector<Vec3> &s, std::vector<Vec3> &w) const
  {
    const size_t N = s.size();
    w.assign(N, Vec3{});
    for (size_t i = 0; i < N; ++i) {
      if (N > 1) {
        const size_t left = (i + N - 1) % N, right = (i + 1) % N;
        w[i] += J * s[right];
        if (left != right) w[i] += J * s[left];
      }
      w[i] += (2.0 * K * dot(s[i], n)) * n + magnitude * h;
    }
  }

  mlspin::FieldFunction field_function() const
  {
    return [this](const std::vector<Vec3> &s, std::vector<Vec3> &w) { fields(s, w); };
  }
};

// Deterministic pseudo-random unit vectors (golden-angle spiral with a twist).
inline std::vector<Vec3> scattered_spins(size_t n, double twist = 0.7)
{
  std::vector<Vec3> s(n);
  for (size_t i = 0; i < n; ++i) {
    const double z = 1.0 - (2.0 * i + 1.0) / n;
    const double phi = i * 2.399963229728653 + twist * i * i;
    const double r = std::sqrt(1.0 - z * z);
    s[i] = {r * std::cos(phi), r * std::sin(phi), z};
  }
  return s;
}

}    // namespace mlspin_test
