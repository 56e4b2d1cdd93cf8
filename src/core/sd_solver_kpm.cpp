#include "core/sd_solver_kpm.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>

namespace mlspin {

using cplx = std::complex<double>;

namespace {

// ---- counter-based random phases (splitmix64 finaliser) ----
std::uint64_t mix64(std::uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

cplx random_phase(std::uint64_t seed, std::uint64_t stream, std::uint64_t index)
{
  const std::uint64_t h = mix64(mix64(mix64(seed) ^ stream) ^ index);
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  const double phi = 2.0 * M_PI * u;
  return {std::cos(phi), std::sin(phi)};
}

// ---- X = H / a as a sparse operator on vectors of 2N complex numbers ----
class ScaledHamiltonian {
 public:
  ScaledHamiltonian(const HoppingMatrix &hop, const std::vector<Vec3> &spins, double J, double a) : hop_(hop)
  {
    const int n = hop.nsites;
    t_.resize(hop.value.size());
    for (size_t k = 0; k < t_.size(); k++) t_[k] = hop.value[k] / a;
    block_.resize(4 * static_cast<size_t>(n));
    for (int i = 0; i < n; i++) {
      const Vec3 &s = spins[i];
      block_[4 * i + 0] = -J * s.z / a;     // up-up (real)
      block_[4 * i + 1] = J * s.z / a;      // down-down (real)
      block_[4 * i + 2] = -J * s.x / a;     // up-down = -J (Sx - i Sy) / a
      block_[4 * i + 3] = J * s.y / a;      //   imaginary part
    }
  }

  // (X v) at site i
  void row(int i, const cplx *v, double &y0r, double &y0i, double &y1r, double &y1i) const
  {
    const double *b = &block_[4 * static_cast<size_t>(i)];
    const double v0r = v[2 * i].real(), v0i = v[2 * i].imag();
    const double v1r = v[2 * i + 1].real(), v1i = v[2 * i + 1].imag();
    // up-down element u = b[2] + i b[3]; down-up element = conj(u)
    y0r = b[0] * v0r + b[2] * v1r - b[3] * v1i;
    y0i = b[0] * v0i + b[2] * v1i + b[3] * v1r;
    y1r = b[1] * v1r + b[2] * v0r + b[3] * v0i;
    y1i = b[1] * v1i + b[2] * v0i - b[3] * v0r;
    for (int a = hop_.row_start[i]; a < hop_.row_start[i + 1]; a++) {
      const double t = t_[a];
      const cplx *vj = &v[2 * hop_.column[a]];
      y0r += t * vj[0].real();
      y0i += t * vj[0].imag();
      y1r += t * vj[1].real();
      y1i += t * vj[1].imag();
    }
  }

  void apply(const cplx *v, cplx *y) const    // y = X v
  {
    for (int i = 0; i < hop_.nsites; i++) {
      double a, b, c, d;
      row(i, v, a, b, c, d);
      y[2 * i] = {a, b};
      y[2 * i + 1] = {c, d};
    }
  }

  void chebyshev_step(const cplx *v, cplx *w) const    // w = 2 X v - w
  {
    for (int i = 0; i < hop_.nsites; i++) {
      double a, b, c, d;
      row(i, v, a, b, c, d);
      w[2 * i] = {2.0 * a - w[2 * i].real(), 2.0 * b - w[2 * i].imag()};
      w[2 * i + 1] = {2.0 * c - w[2 * i + 1].real(), 2.0 * d - w[2 * i + 1].imag()};
    }
  }

 private:
  const HoppingMatrix &hop_;
  std::vector<double> t_, block_;
};

double real_dot(const std::vector<cplx> &a, const std::vector<cplx> &b)    // Re a^+ b
{
  double s = 0.0;
  for (size_t k = 0; k < a.size(); k++) s += a[k].real() * b[k].real() + a[k].imag() * b[k].imag();
  return s;
}

double jackson(int n, int m)
{
  const double q = M_PI / (m + 1);
  return ((m - n + 1) * std::cos(q * n) + std::sin(q * n) / std::tan(q)) / (m + 1);
}

}    // namespace

// ---------------------------------------------------------------------------------

struct KPMSolver::Impl {
  KPMSettings settings;
  KPMWorkers workers;
  std::vector<double> moments;
  double scale = 1.0;

  // probing colouring, cached for one hopping matrix
  std::vector<int> colour_rows, colour_columns, colour;
  int ncolours = 0;

  int draws() const { return settings.exact_trace ? 1 : settings.vectors; }
  int count(int nsites) const
  {
    if (settings.exact_trace) return 2 * nsites;
    if (settings.probe_distance > 0) return 2 * ncolours * settings.vectors;
    return settings.vectors;
  }
  void update_colouring(const HoppingMatrix &hop);
  void make_vector(int v, int nsites, std::vector<cplx> &r) const;

  // runs work(v, buffer) for the vectors of this process and sums the buffers of all
  // vectors in vector order into total (length doubles per vector)
  template <typename Work> void sum_over_vectors(int nvec, int length, Work work, std::vector<double> &total);
};

void KPMSolver::Impl::update_colouring(const HoppingMatrix &hop)
{
  if (settings.probe_distance <= 0) return;
  if (colour_rows == hop.row_start && colour_columns == hop.column && !colour.empty()) return;
  colour = distance_colouring(hop, settings.probe_distance, &ncolours);
  colour_rows = hop.row_start;
  colour_columns = hop.column;
}

void KPMSolver::Impl::make_vector(int v, int nsites, std::vector<cplx> &r) const
{
  const size_t n = 2 * static_cast<size_t>(nsites);
  r.assign(n, cplx(0.0, 0.0));
  if (settings.exact_trace) {
    r[v] = 1.0;
  } else if (settings.probe_distance > 0) {
    const int draw = v / (2 * ncolours), rest = v % (2 * ncolours);
    const int c = rest / 2, spin = rest % 2;
    for (int j = 0; j < nsites; j++)
      if (colour[j] == c) r[2 * j + spin] = random_phase(settings.seed, 2 * static_cast<std::uint64_t>(draw) + 1, j);
  } else {
    for (size_t k = 0; k < n; k++) r[k] = random_phase(settings.seed, 2 * static_cast<std::uint64_t>(v), k);
  }
}

template <typename Work>
void KPMSolver::Impl::sum_over_vectors(int nvec, int length, Work work, std::vector<double> &total)
{
  const int procs = std::max(1, workers.size);
  total.assign(length, 0.0);
  std::vector<double> mine(length), all(static_cast<size_t>(length) * procs);
  for (int first = 0; first < nvec; first += procs) {
    const int v = first + workers.rank;
    std::fill(mine.begin(), mine.end(), 0.0);
    if (v < nvec) work(v, mine.data());
    if (procs == 1)
      all = mine;
    else
      workers.gather(mine.data(), length, all.data());
    for (int p = 0; p < procs && first + p < nvec; p++) {
      const double *src = &all[static_cast<size_t>(p) * length];
      for (int k = 0; k < length; k++) total[k] += src[k];
    }
  }
}

// ---------------------------------------------------------------------------------

KPMSolver::KPMSolver(const KPMSettings &settings, KPMWorkers workers) : impl_(new Impl)
{
  if (settings.moments < 2) throw Error("KPM needs at least 2 moments, got " + std::to_string(settings.moments));
  if (!settings.exact_trace && settings.vectors < 1)
    throw Error("KPM needs at least 1 vector, got " + std::to_string(settings.vectors));
  if (workers.size > 1 && !workers.gather) throw Error("KPM on several processes needs a gather function");
  impl_->settings = settings;
  impl_->workers = std::move(workers);
}

KPMSolver::~KPMSolver() = default;

int KPMSolver::vector_count(const HoppingMatrix &hopping)
{
  impl_->update_colouring(hopping);
  return impl_->count(hopping.nsites);
}

const std::vector<double> &KPMSolver::moments() const
{
  return impl_->moments;
}

double KPMSolver::spectral_scale() const
{
  return impl_->scale;
}

double KPMSolver::spectral_bound(const HoppingMatrix &hop, double max_coupling)
{
  double bound = 1.01 * (hop.row_abs_sum_max() + std::fabs(max_coupling));
  if (!(bound > 0.0)) bound = 1.0;
  const double grid = std::ldexp(1.0, static_cast<int>(std::floor(std::log2(bound)))) / 64.0;
  return std::ceil(bound / grid) * grid;
}

void KPMSolver::solve(const HoppingMatrix &hop, const std::vector<Vec3> &spins, const SDParameters &params,
                      bool want_site_energy, SDResult &result)
{
  Impl &p = *impl_;
  const int nsites = hop.nsites;
  if (static_cast<int>(spins.size()) != nsites) throw Error("one spin per site is needed");
  const int m = p.settings.moments;
  const int q = p.settings.nodes > 0 ? p.settings.nodes : std::max(4 * m, 1024);
  p.update_colouring(hop);
  const int nvec = p.count(nsites);
  const double draws = p.draws();

  double max_spin = 0.0;
  for (const Vec3 &s : spins) max_spin = std::max(max_spin, norm(s));
  const double a = spectral_bound(hop, params.J * max_spin);
  p.scale = a;
  const ScaledHamiltonian x(hop, spins, params.J, a);
  const size_t dim = 2 * static_cast<size_t>(nsites);

  // ---- pass 1: moments mu_n = r^+ T_n(X) r, two per matrix-vector product ----
  std::vector<double> mom;
  p.sum_over_vectors(nvec, m, [&](int v, double *out) {
    std::vector<cplx> r, prev, cur(dim);
    p.make_vector(v, nsites, r);
    x.apply(r.data(), cur.data());
    out[0] = real_dot(r, r);
    out[1] = real_dot(r, cur);
    prev = r;
    for (int n = 1; 2 * n < m; n++) {    // cur = alpha_n, prev = alpha_{n-1}
      out[2 * n] = 2.0 * real_dot(cur, cur) - out[0];
      if (2 * n + 1 < m) {
        x.chebyshev_step(cur.data(), prev.data());    // prev = alpha_{n+1}
        out[2 * n + 1] = 2.0 * real_dot(prev, cur) - out[1];
        std::swap(prev, cur);
      }
    }
  }, mom);
  for (double &v : mom) v /= draws;
  p.moments = mom;

  // ---- density of states on the Chebyshev-Gauss nodes, ascending in energy ----
  std::vector<double> kernel(m);
  for (int n = 0; n < m; n++) kernel[n] = jackson(n, m);
  std::vector<double> theta(q), level(q), weight(q);
  for (int j = 0; j < q; j++) {
    const int k = q - 1 - j;    // x_k = cos(theta_k) decreases with k
    theta[j] = M_PI * (k + 0.5) / q;
    level[j] = a * std::cos(theta[j]);
    const double c1 = std::cos(theta[j]);
    double cprev = 1.0, ccur = c1, sum = kernel[0] * mom[0];
    for (int n = 1; n < m; n++) {
      sum += 2.0 * kernel[n] * mom[n] * ccur;
      const double cnext = 2.0 * c1 * ccur - cprev;
      cprev = ccur;
      ccur = cnext;
    }
    weight[j] = sum / q;
  }

  const double n_electrons = electron_count(nsites, params);
  const Occupation occ = occupy(level, weight, params, n_electrons, 0.0);
  const double mu = occ.mu;

  // grand potential per node, the energy and the Chebyshev coefficients c_n g_n
  std::vector<double> g(q);
  double energy = params.canonical ? mu * n_electrons : 0.0;
  for (int j = 0; j < q; j++) {
    g[j] = level_energy(level[j], occ.f[j], mu, params) - (params.canonical ? mu * occ.f[j] : 0.0);
    energy += weight[j] * g[j];
  }
  std::vector<double> coef(m, 0.0);
  for (int j = 0; j < q; j++) {
    const double c1 = std::cos(theta[j]);
    double cprev = 1.0, ccur = c1;
    coef[0] += g[j];
    for (int n = 1; n < m; n++) {
      coef[n] += 2.0 * g[j] * ccur;
      const double cnext = 2.0 * c1 * ccur - cprev;
      cprev = ccur;
      ccur = cnext;
    }
  }
  for (int n = 0; n < m; n++) coef[n] *= kernel[n] / q;

  // ---- pass 2: gradient of r^+ sum_n coef_n T_n(X) r with respect to the on-site blocks ----
  const int per_site = want_site_energy ? 5 : 4;
  std::vector<double> grad;
  p.sum_over_vectors(nvec, per_site * nsites, [&](int v, double *out) {
    std::vector<cplx> r, am(dim), am1;    // alpha_m, alpha_{m-1}
    p.make_vector(v, nsites, r);
    am1 = r;
    x.apply(r.data(), am.data());
    for (int n = 2; n < m; n++) {
      x.chebyshev_step(am.data(), am1.data());
      std::swap(am, am1);
    }
    std::vector<cplx> bm(dim, 0.0), bm1(dim, 0.0);    // beta_m, beta_{m+1}
    std::vector<cplx> gblock(4 * static_cast<size_t>(nsites), 0.0);
    std::vector<double> esite(want_site_energy ? nsites : 0, 0.0);
    for (int mm = m - 1; mm >= 1; mm--) {
      // beta_mm = coef_mm r + 2 X beta_{mm+1} - beta_{mm+2}; bm holds beta_{mm+1}, bm1 beta_{mm+2}
      if (mm < m - 1) x.chebyshev_step(bm.data(), bm1.data());
      for (size_t k = 0; k < dim; k++) bm1[k] += coef[mm] * r[k];
      std::swap(bm, bm1);    // bm = beta_mm, bm1 = beta_{mm+1}
      const double kappa = (mm == 1) ? 1.0 : 2.0;
      for (int i = 0; i < nsites; i++) {
        const cplx b0 = std::conj(bm[2 * i]), b1 = std::conj(bm[2 * i + 1]);
        const cplx a0 = am1[2 * i], a1 = am1[2 * i + 1];
        cplx *gb = &gblock[4 * static_cast<size_t>(i)];
        gb[0] += kappa * (b0 * a0);
        gb[1] += kappa * (b0 * a1);
        gb[2] += kappa * (b1 * a0);
        gb[3] += kappa * (b1 * a1);
        if (want_site_energy)
          esite[i] += coef[mm] * (std::conj(r[2 * i]) * am[2 * i] + std::conj(r[2 * i + 1]) * am[2 * i + 1]).real();
      }
      if (mm >= 2) {    // alpha_{mm-2} = 2 X alpha_{mm-1} - alpha_mm
        x.chebyshev_step(am1.data(), am.data());
        std::swap(am, am1);
        if (mm == 2) am1 = r;
      }
    }
    for (int i = 0; i < nsites; i++) {
      const cplx *gb = &gblock[4 * static_cast<size_t>(i)];
      double *o = out + per_site * static_cast<size_t>(i);
      o[0] = (gb[0] + gb[3]).real();
      o[1] = (gb[1] + gb[2]).real();
      o[2] = gb[1].imag() - gb[2].imag();
      o[3] = (gb[0] - gb[3]).real();
      if (want_site_energy) o[4] = esite[i] + coef[0] * (std::norm(r[2 * i]) + std::norm(r[2 * i + 1]));
    }
  }, grad);

  result.energy = energy;
  result.mu = mu;
  result.density.assign(nsites, 0.0);
  result.spin.assign(nsites, Vec3());
  result.site_energy.assign(want_site_energy ? nsites : 0, 0.0);
  const double norm_grad = 1.0 / (a * draws);
  double total_density = 0.0;
  for (int i = 0; i < nsites; i++) {
    const double *o = &grad[per_site * static_cast<size_t>(i)];
    result.density[i] = o[0] * norm_grad;
    result.spin[i] = {o[1] * norm_grad, o[2] * norm_grad, o[3] * norm_grad};
    total_density += result.density[i];
  }
  if (want_site_energy) {
    // e_i = est. [g(H)]_ii (+ mu n_i, the remainder of mu N_e spread evenly): sum_i e_i = E
    const double rest = params.canonical ? mu * (n_electrons - total_density) / nsites : 0.0;
    for (int i = 0; i < nsites; i++) {
      result.site_energy[i] = grad[per_site * static_cast<size_t>(i) + 4] / draws;
      if (params.canonical) result.site_energy[i] += mu * result.density[i] + rest;
    }
  }
}

// ---------------------------------------------------------------------------------

std::vector<int> distance_colouring(const HoppingMatrix &hop, int distance, int *ncolours)
{
  const int n = hop.nsites;
  std::vector<int> colour(n, -1), mark(n, -1), frontier, next;
  std::vector<char> used;
  int count = 0;
  for (int i = 0; i < n; i++) {
    // sites within `distance` hops of i (breadth-first)
    frontier.assign(1, i);
    mark[i] = i;
    used.assign(count + 1, 0);
    for (int hop_count = 0; hop_count < distance && !frontier.empty(); hop_count++) {
      next.clear();
      for (const int s : frontier)
        for (int a = hop.row_start[s]; a < hop.row_start[s + 1]; a++) {
          const int j = hop.column[a];
          if (mark[j] == i || hop.value[a] == 0.0) continue;    // a zero hopping is no edge
          mark[j] = i;
          next.push_back(j);
          if (colour[j] >= 0) used[colour[j]] = 1;
        }
      frontier.swap(next);
    }
    int c = 0;
    while (c < count && used[c]) c++;
    colour[i] = c;
    if (c == count) count++;
  }
  if (ncolours) *ncolours = count;
  return colour;
}

}    // namespace mlspin
