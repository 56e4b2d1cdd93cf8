// Local order parameters (core/spin_order) on ideal lattices: the analytic values of
// the ordered states, invariance under global spin rotations, lattice rotations and
// the starting point of the ring, and the ring geometry checks.
#include "core/spin_order.h"

#include "core/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

using namespace mlspin;

namespace {

using SpinField = std::function<Vec3(int, int)>;    // spin at lattice site (n1, n2)

const double kTetraChirality = 4.0 / (3.0 * std::sqrt(3.0));    // |s_a . (s_b x s_c)| of the triple-Q state

int mod(int a, int m)
{
  return ((a % m) + m) % m;
}

// neighbours of a triangular site: (n1, n2) offsets, listed out of angular order
const int kTriangularOffsets[6][2] = {{0, -1}, {1, 0}, {-1, 0}, {0, 1}, {1, -1}, {-1, 1}};
const int kSquareOffsets[4][2] = {{0, 1}, {1, 0}, {0, -1}, {-1, 0}};

// ring of site (n1, n2) with lattice vectors a1, a2 (xy), sorted counter-clockwise
std::vector<RingNeighbour> ring_of(int n1, int n2, const SpinField &spin, const int (*offsets)[2], int count,
                                   const double a1[2], const double a2[2])
{
  std::vector<RingNeighbour> ring;
  for (int k = 0; k < count; k++) {
    RingNeighbour n;
    n.dx = offsets[k][0] * a1[0] + offsets[k][1] * a2[0];
    n.dy = offsets[k][0] * a1[1] + offsets[k][1] * a2[1];
    n.spin = spin(n1 + offsets[k][0], n2 + offsets[k][1]);
    ring.push_back(n);
  }
  sort_counterclockwise(ring);
  return ring;
}

const double kA1[2] = {1.0, 0.0}, kA2[2] = {0.5, 0.8660254037844386};
const double kSq1[2] = {1.0, 0.0}, kSq2[2] = {0.0, 1.0};

std::vector<RingNeighbour> triangular_ring(int n1, int n2, const SpinField &spin)
{
  return ring_of(n1, n2, spin, kTriangularOffsets, 6, kA1, kA2);
}

// triple-Q state s = (eta_1 e1 + eta_2 e2 + eta_3 e3)/sqrt(3) with the M-point signs
// eta_1 = (-1)^n1, eta_2 = (-1)^n2, eta_3 = (-1)^(n1+n2)
SpinField tetrahedral(const Vec3 &e1, const Vec3 &e2, const Vec3 &e3)
{
  return [=](int n1, int n2) {
    const double eta1 = mod(n1, 2) ? -1.0 : 1.0, eta2 = mod(n2, 2) ? -1.0 : 1.0;
    return (1.0 / std::sqrt(3.0)) * (eta1 * e1 + eta2 * e2 + eta1 * eta2 * e3);
  };
}

const Vec3 kX{1, 0, 0}, kY{0, 1, 0}, kZ{0, 0, 1};

SpinField ferromagnet()
{
  return [](int, int) { return Vec3(0.6, 0.0, 0.8); };
}
SpinField stripe()
{
  return [](int n1, int) { return (mod(n1, 2) ? -1.0 : 1.0) * Vec3(0.0, 0.6, 0.8); };
}
// 120-degree (K-point) state: angle 2 pi (n1 - n2)/3 in the xy plane
SpinField coplanar120()
{
  return [](int n1, int n2) {
    const double angle = 2.0 * M_PI * mod(n1 - n2, 3) / 3.0;
    return Vec3(std::cos(angle), std::sin(angle), 0.0);
  };
}

Vec3 random_unit(std::mt19937 &rng)
{
  std::normal_distribution<double> g;
  return normalized(Vec3(g(rng), g(rng), g(rng)));
}

// rotation of v about the unit axis n by phi (Rodrigues)
Vec3 rotate(const Vec3 &v, const Vec3 &n, double phi)
{
  return std::cos(phi) * v + std::sin(phi) * cross(n, v) + (1.0 - std::cos(phi)) * dot(n, v) * n;
}

}    // namespace

TEST(SpinOrder, TetrahedralStateHasTheAnalyticChiralityOnEveryTriangle)
{
  // e1, e2, e3 right-handed gives chi = -4/(3 sqrt 3); swapping two of them (a
  // reflection of spin space) the opposite chirality
  for (const double sign : {-1.0, 1.0}) {
    const SpinField s = sign < 0 ? tetrahedral(kX, kY, kZ) : tetrahedral(kY, kX, kZ);
    for (int n1 = 0; n1 < 2; n1++)
      for (int n2 = 0; n2 < 2; n2++) {
        const auto ring = triangular_ring(n1, n2, s);
        for (size_t k = 0; k < 6; k++)
          EXPECT_NEAR(triangle_chirality(s(n1, n2), ring[k].spin, ring[(k + 1) % 6].spin), sign * kTetraChirality,
                      1e-14);
        EXPECT_NEAR(site_chirality(s(n1, n2), ring), sign * kTetraChirality, 1e-14);
        const TriangularOrder order = triangular_order(s(n1, n2), ring);
        EXPECT_NEAR(order.m_point, 1.0, 1e-14);
        EXPECT_NEAR(order.tetrahedral, sign, 1e-14);    // the sign of the chirality
        EXPECT_NEAR(order.uniform, 0.0, 1e-14);
      }
  }
}

TEST(SpinOrder, FerroStripeAnd120DegreeStatesHaveTheDerivedValues)
{
  struct Case {
    const char *name;
    SpinField spin;
    double m_point, uniform;
  };
  // 120 degrees: each pair of opposite neighbours sums to -s_i, so delta_alpha = 3 s_i/8
  // and the uniform part -s_i/8
  const Case cases[] = {{"ferro", ferromagnet(), 0.0, 1.0},
                        {"stripe", stripe(), 1.0, 0.0},
                        {"120 degrees", coplanar120(), 27.0 / 64.0, 1.0 / 8.0}};
  for (const Case &c : cases)
    for (int n1 = 0; n1 < 6; n1++)
      for (int n2 = 0; n2 < 6; n2++) {
        const auto ring = triangular_ring(n1, n2, c.spin);
        EXPECT_NEAR(site_chirality(c.spin(n1, n2), ring), 0.0, 1e-14) << c.name;
        const TriangularOrder order = triangular_order(c.spin(n1, n2), ring);
        EXPECT_NEAR(order.m_point, c.m_point, 1e-14) << c.name;
        EXPECT_NEAR(order.tetrahedral, 0.0, 1e-14) << c.name;
        EXPECT_NEAR(order.uniform, c.uniform, 1e-14) << c.name;
      }
}

TEST(SpinOrder, GlobalSpinRotationsLatticeRotationsAndRingStartChangeNothing)
{
  std::mt19937 rng(2024);
  std::vector<Vec3> random(64);
  for (Vec3 &v : random) v = random_unit(rng);
  const SpinField s = [&](int n1, int n2) { return random[8 * mod(n1, 8) + mod(n2, 8)]; };
  const Vec3 axis = normalized(Vec3(0.3, -1.2, 0.7));
  const SpinField rotated = [&](int n1, int n2) { return rotate(s(n1, n2), axis, 2.1); };
  // the lattice turned by 37 degrees about z: the ring starts at another neighbour
  const double c = std::cos(0.65), si = std::sin(0.65);
  const double b1[2] = {c * kA1[0] - si * kA1[1], si * kA1[0] + c * kA1[1]};
  const double b2[2] = {c * kA2[0] - si * kA2[1], si * kA2[0] + c * kA2[1]};
  double spread = 0.0;
  for (int n1 = 0; n1 < 8; n1++)
    for (int n2 = 0; n2 < 8; n2++) {
      const auto ring = triangular_ring(n1, n2, s);
      const double chi = site_chirality(s(n1, n2), ring);
      const TriangularOrder order = triangular_order(s(n1, n2), ring);
      spread = std::max(spread, std::fabs(chi));
      for (int variant = 0; variant < 2; variant++) {
        const auto other = variant == 0 ? triangular_ring(n1, n2, rotated)
                                        : ring_of(n1, n2, s, kTriangularOffsets, 6, b1, b2);
        const Vec3 centre = variant == 0 ? rotated(n1, n2) : s(n1, n2);
        EXPECT_NEAR(site_chirality(centre, other), chi, 1e-14);
        const TriangularOrder o = triangular_order(centre, other);
        EXPECT_NEAR(o.m_point, order.m_point, 1e-14);
        EXPECT_NEAR(o.tetrahedral, order.tetrahedral, 1e-14);
        EXPECT_NEAR(o.uniform, order.uniform, 1e-14);
      }
    }
  EXPECT_GT(spread, 0.1);    // random spins are chiral somewhere: the checks above are not 0 == 0
}

// the four sublattice sums weigh 1/4 each: M + |m|^2 <= 1, hence |T| <= 1
TEST(SpinOrder, TriangularOrderIsBounded)
{
  std::mt19937 rng(7);
  double largest_t = 0.0;
  for (int trial = 0; trial < 20000; trial++) {
    const Vec3 centre = random_unit(rng);
    std::vector<Vec3> around(6);
    for (Vec3 &v : around) v = random_unit(rng);
    const SpinField s = [&](int n1, int n2) {
      for (int k = 0; k < 6; k++)
        if (kTriangularOffsets[k][0] == n1 && kTriangularOffsets[k][1] == n2) return around[k];
      return centre;
    };
    const TriangularOrder o = triangular_order(centre, triangular_ring(0, 0, s));
    EXPECT_LE(o.m_point + o.uniform * o.uniform, 1.0 + 1e-14);
    EXPECT_LE(std::fabs(o.tetrahedral), 1.0 + 1e-14);
    largest_t = std::max(largest_t, std::fabs(o.tetrahedral));
  }
  EXPECT_GT(largest_t, 0.3);
}

TEST(SpinOrder, SquareLatticeNeelAndFerroOrder)
{
  struct Case {
    const char *name;
    SpinField spin;
    double neel, ferro;
  };
  const Vec3 d = normalized(Vec3(0.2, -0.5, 0.9));
  // stripe (pi, 0): the four neighbours cancel, both orders 1/2
  const Case cases[] = {{"ferro", [&](int, int) { return d; }, 0.0, 1.0},
                        {"neel", [&](int n1, int n2) { return (mod(n1 + n2, 2) ? -1.0 : 1.0) * d; }, 1.0, 0.0},
                        {"stripe", [&](int n1, int) { return (mod(n1, 2) ? -1.0 : 1.0) * d; }, 0.5, 0.5}};
  for (const Case &c : cases)
    for (int n1 = 0; n1 < 2; n1++)
      for (int n2 = 0; n2 < 2; n2++) {
        const auto ring = ring_of(n1, n2, c.spin, kSquareOffsets, 4, kSq1, kSq2);
        const SquareOrder order = square_order(c.spin(n1, n2), ring);
        EXPECT_NEAR(order.neel, c.neel, 1e-15) << c.name;
        EXPECT_NEAR(order.ferro, c.ferro, 1e-15) << c.name;
      }
}

TEST(SpinOrder, RingGeometry)
{
  const SpinField s = ferromagnet();
  auto ring = triangular_ring(0, 0, s);
  for (size_t k = 0; k < 6; k++)    // counter-clockwise from -120 degrees
    EXPECT_NEAR(std::atan2(ring[k].dy, ring[k].dx), (-120.0 + 60.0 * k) * M_PI / 180.0, 1e-14);
  EXPECT_NEAR(largest_angular_gap(ring), M_PI / 3, 1e-14);
  ring.erase(ring.begin() + 2);
  EXPECT_NEAR(largest_angular_gap(ring), 2 * M_PI / 3, 1e-14);
  ring.erase(ring.begin() + 2, ring.end());    // two neighbours at -120 and -60 degrees
  EXPECT_NEAR(largest_angular_gap(ring), 2 * M_PI - M_PI / 3, 1e-14);
  EXPECT_THROW(triangular_order(s(0, 0), ring), Error);
  EXPECT_NEAR(lattice_constant_from_area(kTriangularShell, std::sqrt(3.0) / 2 * 4.0), 2.0, 1e-15);
  EXPECT_NEAR(lattice_constant_from_area(kSquareShell, 2.25), 1.5, 1e-15);
}
