#include "core/sd_lattice.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

namespace mlspin {

namespace {

// Cell list over the box in fractional coordinates. Periodic directions are wrapped
// into [0,1); open directions are binned over the extent of the sites.
class CellList {
 public:
  CellList(const std::vector<Vec3> &x, const LatticeBox &box);

  // Calls visit(i, j, d) for every site i and every periodic image of every site j
  // (j == i only for a nonzero image) at distance 0 < d <= radius.
  void for_each_pair(double radius, const std::function<void(int, int, double)> &visit) const;

  double typical_spacing() const { return spacing_; }
  double open_diameter() const { return open_diameter_; }

 private:
  const LatticeBox &box_;
  std::vector<Vec3> wrapped_;          // Cartesian positions, periodic directions wrapped
  double inverse_[3][3];               // rows: reciprocal vectors g_d, u_d = g_d . (x - origin)
  double frac_lo_[3], frac_extent_[3];
  int nbins_[3];
  std::vector<int> bin_start_, bin_sites_;
  double spacing_ = 1.0, open_diameter_ = 0.0;

  int bin_of(const double u[3], int d) const;
};

void invert3(const Vec3 e[3], double inv[3][3])
{
  // columns of M are the edges; inv = M^-1, so row d of inv is the reciprocal vector g_d
  const double m[3][3] = {{e[0].x, e[1].x, e[2].x}, {e[0].y, e[1].y, e[2].y}, {e[0].z, e[1].z, e[2].z}};
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
      m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  if (!(std::fabs(det) > 0.0)) throw Error("the box edge vectors are linearly dependent");
  inv[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det;
  inv[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det;
  inv[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det;
  inv[1][0] = (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det;
  inv[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det;
  inv[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det;
  inv[2][0] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det;
  inv[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det;
  inv[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det;
}

CellList::CellList(const std::vector<Vec3> &x, const LatticeBox &box) : box_(box)
{
  invert3(box.edge, inverse_);
  const size_t n = x.size();
  std::vector<double> u(3 * n);
  for (int d = 0; d < 3; d++) {
    frac_lo_[d] = 0.0;
    frac_extent_[d] = 1.0;
  }
  double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
  wrapped_ = x;
  for (size_t i = 0; i < n; i++) {
    const Vec3 r = x[i] - box.origin;
    for (int d = 0; d < 3; d++) {
      double ud = inverse_[d][0] * r.x + inverse_[d][1] * r.y + inverse_[d][2] * r.z;
      if (box.periodic[d]) {
        const double shift = std::floor(ud);
        ud -= shift;
        if (ud >= 1.0) ud = 0.0;    // -tiny wrapped to 1.0 by rounding
        wrapped_[i] -= shift * box.edge[d];
      }
      u[3 * i + d] = ud;
      lo[d] = std::min(lo[d], ud);
      hi[d] = std::max(hi[d], ud);
    }
  }

  // perpendicular extent of the occupied region along each direction
  double extent[3], largest = 0.0;
  for (int d = 0; d < 3; d++) {
    const double g = std::sqrt(inverse_[d][0] * inverse_[d][0] + inverse_[d][1] * inverse_[d][1] +
                               inverse_[d][2] * inverse_[d][2]);
    if (!box.periodic[d] && n > 0) {
      frac_lo_[d] = lo[d];
      frac_extent_[d] = hi[d] - lo[d];
    }
    extent[d] = frac_extent_[d] / g;
    largest = std::max(largest, extent[d]);
    if (!box.periodic[d]) open_diameter_ += extent[d] * extent[d];
  }
  open_diameter_ = std::sqrt(open_diameter_);
  int dims = 0;
  double volume = 1.0;
  bool flat[3];
  for (int d = 0; d < 3; d++) {
    flat[d] = !(extent[d] > 1e-9 * largest);
    if (!flat[d]) {
      dims++;
      volume *= extent[d];
    }
  }
  if (n > 0 && dims > 0) spacing_ = std::pow(volume / static_cast<double>(n), 1.0 / dims);
  if (!(spacing_ > 0.0) || !std::isfinite(spacing_)) spacing_ = 1.0;

  long total = 1;
  for (int d = 0; d < 3; d++) {
    nbins_[d] = 1;
    if (flat[d])
      frac_extent_[d] = 1.0;    // all sites in one plane: one bin, nothing to reach
    else
      nbins_[d] = static_cast<int>(std::max(1.0, std::min(std::floor(extent[d] / spacing_), 1.0e4)));
    total *= nbins_[d];
  }
  while (total > 2 * static_cast<long>(n) + 8) {    // keep the bin count O(N)
    int dmax = 0;
    for (int d = 1; d < 3; d++)
      if (nbins_[d] > nbins_[dmax]) dmax = d;
    total /= nbins_[dmax];
    nbins_[dmax] = std::max(1, nbins_[dmax] / 2);
    total *= nbins_[dmax];
  }

  std::vector<int> bin(n);
  bin_start_.assign(static_cast<size_t>(total) + 1, 0);
  for (size_t i = 0; i < n; i++) {
    int b = 0;
    for (int d = 0; d < 3; d++) b = b * nbins_[d] + bin_of(&u[3 * i], d);
    bin[i] = b;
    bin_start_[b + 1]++;
  }
  for (long b = 0; b < total; b++) bin_start_[b + 1] += bin_start_[b];
  bin_sites_.resize(n);
  std::vector<int> fill(bin_start_.begin(), bin_start_.end() - 1);
  for (size_t i = 0; i < n; i++) bin_sites_[fill[bin[i]]++] = static_cast<int>(i);
}

int CellList::bin_of(const double u[3], int d) const
{
  const double t = (u[d] - frac_lo_[d]) / frac_extent_[d];
  const int b = static_cast<int>(std::floor(t * nbins_[d]));
  return std::min(std::max(b, 0), nbins_[d] - 1);
}

void CellList::for_each_pair(double radius, const std::function<void(int, int, double)> &visit) const
{
  int reach[3];
  for (int d = 0; d < 3; d++) {
    const double g = std::sqrt(inverse_[d][0] * inverse_[d][0] + inverse_[d][1] * inverse_[d][1] +
                               inverse_[d][2] * inverse_[d][2]);
    // bins along d that a sphere of this radius can span, plus one for the position in the bin
    const double r = std::ceil(radius * g * nbins_[d] / frac_extent_[d]);
    reach[d] = static_cast<int>(std::min(r, 1.0e6));
    if (!box_.periodic[d]) reach[d] = std::min(reach[d], nbins_[d] - 1);
  }
  const double r2max = radius * radius;
  for (int b0 = 0; b0 < nbins_[0]; b0++)
    for (int b1 = 0; b1 < nbins_[1]; b1++)
      for (int b2 = 0; b2 < nbins_[2]; b2++) {
        const int home[3] = {b0, b1, b2};
        const int hb = (b0 * nbins_[1] + b1) * nbins_[2] + b2;
        int o[3];
        for (o[0] = -reach[0]; o[0] <= reach[0]; o[0]++)
          for (o[1] = -reach[1]; o[1] <= reach[1]; o[1]++)
            for (o[2] = -reach[2]; o[2] <= reach[2]; o[2]++) {
              int target[3];
              Vec3 shift;
              bool valid = true;
              bool zero_image = true;
              for (int d = 0; d < 3 && valid; d++) {
                const int t = home[d] + o[d];
                if (box_.periodic[d]) {
                  const int image = (t >= 0) ? t / nbins_[d] : -((-t + nbins_[d] - 1) / nbins_[d]);
                  target[d] = t - image * nbins_[d];
                  if (image != 0) {
                    shift += static_cast<double>(image) * box_.edge[d];
                    zero_image = false;
                  }
                } else {
                  valid = (t >= 0 && t < nbins_[d]);
                  target[d] = t;
                }
              }
              if (!valid) continue;
              const int tb = (target[0] * nbins_[1] + target[1]) * nbins_[2] + target[2];
              for (int a = bin_start_[hb]; a < bin_start_[hb + 1]; a++) {
                const int i = bin_sites_[a];
                const Vec3 xi = wrapped_[i] - shift;
                for (int c = bin_start_[tb]; c < bin_start_[tb + 1]; c++) {
                  const int j = bin_sites_[c];
                  if (j == i && zero_image) continue;
                  const Vec3 r = wrapped_[j] - xi;
                  const double r2 = dot(r, r);
                  if (r2 <= r2max) visit(i, j, std::sqrt(r2));
                }
              }
            }
      }
}

// greedy grouping of sorted distances: a group starts at the smallest ungrouped value
std::vector<double> group_starts(std::vector<double> &d, double tol, size_t count)
{
  std::sort(d.begin(), d.end());
  std::vector<double> starts;
  for (const double v : d) {
    if (starts.empty() || v > starts.back() * (1.0 + tol)) {
      if (starts.size() == count) break;
      starts.push_back(v);
    }
  }
  return starts;
}

}    // namespace

LatticeBox make_lattice_box(const double boxlo[3], const double prd[3], double xy, double xz,
                            double yz, const bool periodic[3])
{
  LatticeBox box;
  box.origin = {boxlo[0], boxlo[1], boxlo[2]};
  box.edge[0] = {prd[0], 0.0, 0.0};
  box.edge[1] = {xy, prd[1], 0.0};
  box.edge[2] = {xz, yz, prd[2]};
  for (int d = 0; d < 3; d++) box.periodic[d] = periodic[d];
  return box;
}

std::vector<double> find_shell_distances(const std::vector<Vec3> &x, const LatticeBox &box, int count,
                                         double tol)
{
  if (count < 1) throw Error("at least one neighbour shell is needed");
  if (x.empty()) throw Error("there are no sites");
  const CellList cells(x, box);
  const bool any_periodic = box.periodic[0] || box.periodic[1] || box.periodic[2];
  double radius = 1.5 * cells.typical_spacing();
  const double open_limit = 2.0 * cells.open_diameter() + radius;
  for (int attempt = 0; attempt < 60; attempt++) {
    std::vector<double> d;
    cells.for_each_pair(radius, [&](int i, int j, double r) {
      if (i <= j) d.push_back(r);
    });
    if (!d.empty() && *std::min_element(d.begin(), d.end()) <= 1e-10 * cells.typical_spacing())
      throw Error("two sites coincide (distance " + std::to_string(*std::min_element(d.begin(), d.end())) + ")");
    const auto starts = group_starts(d, tol, static_cast<size_t>(count));
    if (static_cast<int>(starts.size()) == count && starts.back() * (1.0 + tol) <= radius) return starts;
    if (!any_periodic && radius > open_limit) {
      throw Error("the sites have only " + std::to_string(starts.size()) +
                  " distinct neighbour distance(s), but " + std::to_string(count) +
                  " hopping shell(s) were requested");
    }
    radius *= 2.0;
  }
  throw Error("could not find " + std::to_string(count) + " neighbour shells");
}

HoppingMatrix build_hopping(const std::vector<Vec3> &x, const LatticeBox &box,
                            const std::vector<double> &shell_distance, const std::vector<double> &t, double tol)
{
  if (shell_distance.size() != t.size()) throw Error("one hopping per shell is needed");
  const int n = static_cast<int>(x.size());
  const size_t nshell = shell_distance.size();
  double radius = 0.0;
  for (const double d : shell_distance) radius = std::max(radius, d * (1.0 + tol));

  std::vector<std::vector<std::pair<int, double>>> rows(n);
  HoppingMatrix h;
  h.nsites = n;
  h.bonds_per_shell.assign(nshell, 0);
  const CellList cells(x, box);
  cells.for_each_pair(radius, [&](int i, int j, double r) {
    for (size_t k = 0; k < nshell; k++) {
      if (std::fabs(r - shell_distance[k]) <= tol * shell_distance[k]) {
        rows[i].emplace_back(j, -t[k]);
        h.bonds_per_shell[k]++;
        break;
      }
    }
  });
  for (size_t k = 0; k < nshell; k++)
    if (h.bonds_per_shell[k] == 0)
      throw Error("no pair of sites is at the distance " + std::to_string(shell_distance[k]) + " of hopping shell " +
                  std::to_string(k + 1) + " (within a relative tolerance " + std::to_string(tol) + ")");

  h.row_start.assign(n + 1, 0);
  for (int i = 0; i < n; i++) {
    auto &row = rows[i];
    std::stable_sort(row.begin(), row.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    for (size_t a = 0; a < row.size(); a++) {
      // bonds to the same site through several images add up (sum in a fixed order)
      if (!h.column.empty() && a > 0 && row[a].first == row[a - 1].first)
        h.value.back() += row[a].second;
      else {
        h.column.push_back(row[a].first);
        h.value.push_back(row[a].second);
      }
    }
    h.row_start[i + 1] = static_cast<int>(h.column.size());
  }
  return h;
}

double HoppingMatrix::row_abs_sum_max() const
{
  double m = 0.0;
  for (int i = 0; i < nsites; i++) {
    double s = 0.0;
    for (int a = row_start[i]; a < row_start[i + 1]; a++) s += std::fabs(value[a]);
    m = std::max(m, s);
  }
  return m;
}

double HoppingMatrix::diagonal(int i) const
{
  for (int a = row_start[i]; a < row_start[i + 1]; a++)
    if (column[a] == i) return value[a];
  return 0.0;
}

}    // namespace mlspin
