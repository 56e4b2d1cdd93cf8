#include "core/spin_order.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace mlspin {

const LatticeShell kTriangularShell = {"triangular", 6, 0.5 * std::sqrt(3.0), 0.5 * (1.0 + std::sqrt(3.0))};
const LatticeShell kSquareShell = {"square", 4, 1.0, 0.5 * (1.0 + std::sqrt(2.0))};

double lattice_constant_from_area(const LatticeShell &shell, double area_per_site)
{
  return std::sqrt(area_per_site / shell.cell_area);
}

namespace {

double bond_angle(const RingNeighbour &n)
{
  return std::atan2(n.dy, n.dx);
}

void require_ring_size(const std::vector<RingNeighbour> &ring, size_t size, const char *what)
{
  if (ring.size() != size)
    throw Error(std::string(what) + " needs " + std::to_string(size) + " neighbours, got " +
                std::to_string(ring.size()));
}

}    // namespace

void sort_counterclockwise(std::vector<RingNeighbour> &ring)
{
  std::sort(ring.begin(), ring.end(),
            [](const RingNeighbour &a, const RingNeighbour &b) { return bond_angle(a) < bond_angle(b); });
}

double largest_angular_gap(const std::vector<RingNeighbour> &ring)
{
  if (ring.size() < 2) return 2.0 * M_PI;
  double gap = 2.0 * M_PI - (bond_angle(ring.back()) - bond_angle(ring.front()));    // across -pi
  for (size_t k = 1; k < ring.size(); k++) gap = std::max(gap, bond_angle(ring[k]) - bond_angle(ring[k - 1]));
  return gap;
}

double site_chirality(const Vec3 &centre, const std::vector<RingNeighbour> &ring)
{
  const size_t n = ring.size();
  if (n == 0) throw Error("site_chirality needs a ring of neighbours");
  double sum = 0.0;
  for (size_t k = 0; k < n; k++) sum += triangle_chirality(centre, ring[k].spin, ring[(k + 1) % n].spin);
  return sum / static_cast<double>(n);
}

TriangularOrder triangular_order(const Vec3 &centre, const std::vector<RingNeighbour> &ring)
{
  require_ring_size(ring, 6, "triangular_order");
  // Opposite neighbours k and k+3 lie on the same bond direction, so ring index mod 3
  // labels the three bond families. For the M point alpha, eta_alpha(bond) is +1 on
  // family alpha and -1 on the other two (every lattice vector's eta_1 eta_2 eta_3 = 1).
  // Starting the ring elsewhere permutes the labels cyclically, which changes neither
  // sum |delta|^2 nor the triple product.
  Vec3 family[3];
  for (size_t k = 0; k < 6; k++) family[k % 3] += ring[k].spin;
  const Vec3 all = family[0] + family[1] + family[2];
  Vec3 delta[3];
  for (int alpha = 0; alpha < 3; alpha++) delta[alpha] = 0.25 * centre + 0.125 * (2.0 * family[alpha] - all);

  TriangularOrder order;
  for (const Vec3 &d : delta) order.m_point += dot(d, d);
  order.tetrahedral = 3.0 * std::sqrt(3.0) * triangle_chirality(delta[0], delta[1], delta[2]);
  order.uniform = norm(0.25 * centre + 0.125 * all);
  return order;
}

SquareOrder square_order(const Vec3 &centre, const std::vector<RingNeighbour> &ring)
{
  require_ring_size(ring, 4, "square_order");
  Vec3 neighbours;
  for (const RingNeighbour &n : ring) neighbours += n.spin;
  return {norm(0.5 * centre - 0.125 * neighbours), norm(0.5 * centre + 0.125 * neighbours)};
}

}    // namespace mlspin
