/* ----------------------------------------------------------------------
   mlspin: pair_style sd/tb

   Adapter between LAMMPS and the s-d model core: it gathers the spins (and, when
   they change, the positions and the box) of all atoms in atom-ID order on every
   process, builds the hopping matrix from the neighbour shells, runs the solver and
   writes fm = (|S_i|/hbar) J m_i and the energies of the local atoms. Forces and the
   virial are zero: hoppings do not depend on the distance inside a shell.
------------------------------------------------------------------------- */

#include "pair_sd_tb.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "update.h"

#include "core/error.h"
#include "core/sd_lattice.h"
#include "core/sd_model.h"
#include "core/sd_solver_ed.h"
#include "core/sd_solver_kpm.h"
#include "core/units.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

using namespace LAMMPS_NS;
using mlspin::Vec3;

namespace {

constexpr int kPacked = 8;    // per atom: tag, x, y, z, s_x, s_y, s_z, |S|

// memory the operating system can still give, in bytes (MemAvailable), or 0 if unknown
double available_memory_bytes()
{
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  double value = 0.0;
  while (meminfo >> key >> value >> unit)
    if (key == "MemAvailable:") return value * 1024.0;
  return 0.0;
}

}    // namespace

struct PairSDTB::Impl {
  // user input (settings)
  std::vector<double> hop;
  std::vector<double> user_shells;    // empty: detected from the positions
  double tol = 1e-2;
  mlspin::SDParameters params;
  bool use_kpm = false;
  mlspin::KPMSettings kpm;
  double ed_memory_limit_gb = -1.0;    // <0: the available memory

  // derived at init
  std::vector<double> shells;
  double hbar = 1.0;
  std::unique_ptr<mlspin::SDSolver> solver;

  // gathered sites, ordered by atom ID
  std::vector<tagint> tags;
  std::vector<Vec3> x, spin;
  std::vector<double> magnitude;
  std::vector<double> packed, received;

  // the hopping matrix and what it was built from
  mlspin::HoppingMatrix hopping;
  std::vector<tagint> hopping_tags;
  std::vector<Vec3> hopping_x;
  double hopping_box[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  bool have_hopping = false;

  mlspin::SDResult result;
  bigint last_step = -1;

  mlspin::LatticeBox lattice_box(Domain *domain) const
  {
    const bool periodic[3] = {domain->xperiodic != 0, domain->yperiodic != 0,
                              domain->zperiodic != 0 && domain->dimension == 3};
    const double prd[3] = {domain->xprd, domain->yprd, domain->zprd};
    return mlspin::make_lattice_box(domain->boxlo, prd, domain->xy, domain->xz, domain->yz, periodic);
  }

  int index_of(tagint tag) const
  {
    const auto it = std::lower_bound(tags.begin(), tags.end(), tag);
    return (it != tags.end() && *it == tag) ? static_cast<int>(it - tags.begin()) : -1;
  }
};

/* ---------------------------------------------------------------------- */

PairSDTB::PairSDTB(LAMMPS *lmp) : Pair(lmp), impl(new Impl)
{
  single_enable = 0;
  restartinfo = 0;
  nextra = 2;    // compute pair: [N_e, mu] of the last evaluation
  pvector = new double[2]{0.0, 0.0};
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;
  centroidstressflag = CENTROID_NOTAVAIL;
}

PairSDTB::~PairSDTB()
{
  delete[] pvector;
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

/* ----------------------------------------------------------------------
   pair_style sd/tb hop t1 [t2 ...] J j (filling f | mu m) [kT kte]
              [solver ed [memory G] | solver kpm moments M (vectors R | vectors all)
               [probe D] [seed S]] [shells d1 [d2 ...]] [tol tol]
------------------------------------------------------------------------- */

void PairSDTB::settings(int narg, char **arg)
{
  impl.reset(new Impl);    // a repeated pair_style command starts from scratch
  parse_settings(narg, arg);
}

void PairSDTB::parse_settings(int narg, char **arg)
{
  Impl &p = *impl;
  bool have_j = false, have_filling = false, have_mu = false, have_moments = false, have_vectors = false;
  std::string solver = "ed";
  std::vector<std::string> kpm_only;
  int iarg = 0;
  auto need = [&](int n) {
    if (iarg + n >= narg)
      error->all(FLERR, "Pair style sd/tb keyword {} needs {} value(s)", arg[iarg], n);
  };
  auto numbers_after = [&](std::vector<double> &out) {
    int k = iarg + 1;
    while (k < narg && utils::is_double(arg[k])) out.push_back(utils::numeric(FLERR, arg[k++], false, lmp));
    if (out.empty())
      error->all(FLERR, "Pair style sd/tb keyword {} needs at least one number, got {}", arg[iarg],
                 iarg + 1 < narg ? arg[iarg + 1] : "nothing");
    iarg = k;
  };

  while (iarg < narg) {
    const std::string key = arg[iarg];
    if (key == "hop") {
      numbers_after(p.hop);
    } else if (key == "shells") {
      numbers_after(p.user_shells);
      for (const double d : p.user_shells)
        if (!(d > 0.0)) error->all(FLERR, "Pair style sd/tb shell distances must be > 0, got {}", d);
    } else if (key == "J") {
      need(1);
      p.params.J = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      have_j = true;
      iarg += 2;
    } else if (key == "filling") {
      need(1);
      p.params.filling = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (!(p.params.filling > 0.0 && p.params.filling < 1.0))
        error->all(FLERR,
                   "Pair style sd/tb filling must lie strictly between 0 and 1 (electrons per site and "
                   "spin orientation), got {}",
                   arg[iarg + 1]);
      have_filling = true;
      iarg += 2;
    } else if (key == "mu") {
      need(1);
      p.params.mu = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      have_mu = true;
      iarg += 2;
    } else if (key == "kT") {
      need(1);
      p.params.kT = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (!(p.params.kT >= 0.0))
        error->all(FLERR, "Pair style sd/tb kT (electron temperature, energy units) must be >= 0, got {}",
                   arg[iarg + 1]);
      iarg += 2;
    } else if (key == "solver") {
      need(1);
      solver = arg[iarg + 1];
      if (solver != "ed" && solver != "kpm")
        error->all(FLERR, "Pair style sd/tb solver must be ed or kpm, got {}", solver);
      iarg += 2;
    } else if (key == "moments") {
      need(1);
      p.kpm.moments = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
      if (p.kpm.moments < 2)
        error->all(FLERR, "Pair style sd/tb moments must be an integer >= 2, got {}", arg[iarg + 1]);
      have_moments = true;
      kpm_only.push_back(key);
      iarg += 2;
    } else if (key == "vectors") {
      need(1);
      if (std::string(arg[iarg + 1]) == "all") {
        p.kpm.exact_trace = true;
      } else {
        p.kpm.vectors = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
        if (p.kpm.vectors < 1)
          error->all(FLERR, "Pair style sd/tb vectors must be an integer >= 1 or 'all', got {}", arg[iarg + 1]);
      }
      have_vectors = true;
      kpm_only.push_back(key);
      iarg += 2;
    } else if (key == "probe") {
      need(1);
      p.kpm.probe_distance = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
      if (p.kpm.probe_distance < 1)
        error->all(FLERR, "Pair style sd/tb probe distance must be an integer >= 1 (hops), got {}",
                   arg[iarg + 1]);
      kpm_only.push_back(key);
      iarg += 2;
    } else if (key == "seed") {
      need(1);
      const bigint seed = utils::bnumeric(FLERR, arg[iarg + 1], false, lmp);
      if (seed <= 0) error->all(FLERR, "Pair style sd/tb seed must be a positive integer, got {}", arg[iarg + 1]);
      p.kpm.seed = static_cast<std::uint64_t>(seed);
      kpm_only.push_back(key);
      iarg += 2;
    } else if (key == "memory") {
      need(1);
      p.ed_memory_limit_gb = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (!(p.ed_memory_limit_gb > 0.0))
        error->all(FLERR, "Pair style sd/tb memory (GB allowed for ED) must be > 0, got {}", arg[iarg + 1]);
      iarg += 2;
    } else if (key == "tol") {
      need(1);
      p.tol = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (!(p.tol > 0.0 && p.tol < 0.5))
        error->all(FLERR, "Pair style sd/tb tol (relative shell tolerance) must be in (0, 0.5), got {}",
                   arg[iarg + 1]);
      iarg += 2;
    } else {
      error->all(FLERR,
                 "Unknown pair style sd/tb keyword {}: use hop, J, filling or mu, kT, solver "
                 "(ed [memory] | kpm moments vectors [probe] [seed]), shells, tol",
                 key);
    }
  }

  if (p.hop.empty()) error->all(FLERR, "Pair style sd/tb needs the hoppings: add 'hop t1 [t2 ...]'");
  if (!have_j) error->all(FLERR, "Pair style sd/tb needs the s-d coupling: add 'J value'");
  if (have_filling == have_mu)
    error->all(FLERR, "Pair style sd/tb needs exactly one of 'filling f' (canonical) or 'mu m' "
                      "(grand canonical)");
  p.params.canonical = have_filling;
  if (!p.user_shells.empty() && p.user_shells.size() != p.hop.size())
    error->all(FLERR, "Pair style sd/tb has {} hopping(s) but {} shell distance(s): give one per shell",
               p.hop.size(), p.user_shells.size());
  p.use_kpm = (solver == "kpm");
  if (p.use_kpm) {
    if (!have_moments) error->all(FLERR, "Pair style sd/tb solver kpm needs 'moments M'");
    if (!have_vectors && p.kpm.probe_distance == 0)
      error->all(FLERR, "Pair style sd/tb solver kpm needs 'vectors R' (or 'vectors all', or 'probe D')");
    if (p.kpm.probe_distance > 0 && !have_vectors) p.kpm.vectors = 1;
    if (p.kpm.probe_distance > 0 && p.kpm.exact_trace)
      error->all(FLERR, "Pair style sd/tb: 'vectors all' (exact trace) and 'probe' exclude each other");
    if (p.ed_memory_limit_gb > 0.0) error->all(FLERR, "Pair style sd/tb keyword memory belongs to solver ed");
  } else if (!kpm_only.empty()) {
    error->all(FLERR, "Pair style sd/tb keyword {} belongs to solver kpm, but the solver is ed", kpm_only.front());
  }
}

/* ---------------------------------------------------------------------- */

void PairSDTB::coeff(int narg, char **arg)
{
  if (narg != 2 || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "Pair style sd/tb takes 'pair_coeff * *' only (every atom is a lattice site), got "
                      "pair_coeff {}",
               utils::join_words(std::vector<std::string>(arg, arg + narg), " "));
  if (!allocated) {
    allocated = 1;
    const int n = atom->ntypes;
    memory->create(setflag, n + 1, n + 1, "pair:setflag");
    memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  }
  for (int i = 1; i <= atom->ntypes; i++)
    for (int j = i; j <= atom->ntypes; j++) setflag[i][j] = 1;
}

/* ----------------------------------------------------------------------
   checks, units, neighbour shells from the current positions, the solver
------------------------------------------------------------------------- */

void PairSDTB::init_style()
{
  Impl &p = *impl;
  if (!atom->sp_flag)
    error->all(FLERR, "Pair style sd/tb requires atom attribute sp: use atom_style spin/lattice (or spin, "
                      "or a hybrid style containing one of them)");
  if (!atom->tag_enable) error->all(FLERR, "Pair style sd/tb requires atom IDs (atom_modify id yes)");
  if (atom->natoms < 1) error->all(FLERR, "Pair style sd/tb needs at least one atom");
  if (atom->natoms > MAXSMALLINT / 2) error->all(FLERR, "Pair style sd/tb: too many atoms ({})", atom->natoms);

  try {
    p.hbar = mlspin::spin_units(update->unit_style, force->hplanck, force->boltz).hbar;
  } catch (mlspin::Error &e) {
    error->all(FLERR, "Pair style sd/tb: {}", e.what());
  }

  const double nsites = static_cast<double>(atom->natoms);
  if (!p.use_kpm) {
    const double need = mlspin::EDSolver::memory_bytes(nsites);
    const double limit = p.ed_memory_limit_gb > 0.0 ? p.ed_memory_limit_gb * 1e9 : available_memory_bytes();
    if (limit > 0.0 && need > limit)
      error->all(FLERR,
                 "Pair style sd/tb solver ed: {} sites need about {:.3g} GB for the exact diagonalisation "
                 "of the {}x{} matrix, but only {:.3g} GB {}; use 'solver kpm moments M vectors R' "
                 "(memory O(N)) for this size",
                 atom->natoms, need / 1e9, 2 * atom->natoms, 2 * atom->natoms, limit / 1e9,
                 p.ed_memory_limit_gb > 0.0 ? "are allowed by the memory keyword" : "are available");
  }

  gather_sites();
  if (!p.user_shells.empty()) {
    p.shells = p.user_shells;
  } else {
    try {
      p.shells = mlspin::find_shell_distances(p.x, p.lattice_box(domain), static_cast<int>(p.hop.size()), p.tol);
    } catch (mlspin::Error &e) {
      error->all(FLERR, "Pair style sd/tb cannot find {} neighbour shell(s) for the hoppings: {}",
                 p.hop.size(), e.what());
    }
  }
  p.have_hopping = false;
  update_hopping();

  if (p.use_kpm) {
    mlspin::KPMWorkers workers;
    workers.rank = comm->me;
    workers.size = comm->nprocs;
    MPI_Comm w = world;
    workers.gather = [w](const double *mine, int length, double *all) {
      MPI_Allgather(const_cast<double *>(mine), length, MPI_DOUBLE, all, length, MPI_DOUBLE, w);
    };
    p.solver.reset(new mlspin::KPMSolver(p.kpm, workers));
  } else {
    p.solver.reset(new mlspin::EDSolver());
  }

  if (comm->me == 0) {
    std::string text = fmt::format("pair sd/tb: {} sites, {} solver, shells:", atom->natoms,
                                   p.use_kpm ? "KPM" : "ED");
    for (size_t k = 0; k < p.shells.size(); k++)
      text += fmt::format(" d{}={:.6g} (t={}, {:.4g} bonds/site)", k + 1, p.shells[k], p.hop[k],
                          p.hopping.bonds_per_shell[k] / nsites);
    if (p.use_kpm) {
      auto *kpm = static_cast<mlspin::KPMSolver *>(p.solver.get());
      text += fmt::format("; {} moments, {} vectors per evaluation", p.kpm.moments, kpm->vector_count(p.hopping));
    } else {
      text += fmt::format("; about {:.3g} GB per evaluation", mlspin::EDSolver::memory_bytes(nsites) / 1e9);
    }
    utils::logmesg(lmp, text + "\n");
  }
}

double PairSDTB::init_one(int, int)
{
  double cut = 0.0;
  for (const double d : impl->shells) cut = std::max(cut, d * (1.0 + impl->tol));
  return cut;
}

/* ----------------------------------------------------------------------
   all atoms' IDs, positions and spins on every process, ordered by ID
------------------------------------------------------------------------- */

void PairSDTB::gather_sites()
{
  Impl &p = *impl;
  const int nlocal = atom->nlocal;
  double **x = atom->x, **sp = atom->sp;
  p.packed.resize(static_cast<size_t>(kPacked) * nlocal);
  for (int i = 0; i < nlocal; i++) {
    double *b = &p.packed[static_cast<size_t>(kPacked) * i];
    b[0] = static_cast<double>(atom->tag[i]);
    for (int k = 0; k < 3; k++) b[1 + k] = x[i][k];
    for (int k = 0; k < 4; k++) b[4 + k] = sp[i][k];
  }
  const int count = kPacked * nlocal;
  std::vector<int> counts(comm->nprocs), displs(comm->nprocs, 0);
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, world);
  for (int r = 1; r < comm->nprocs; r++) displs[r] = displs[r - 1] + counts[r - 1];
  const size_t total = static_cast<size_t>(displs.back()) + counts.back();
  p.received.resize(total);
  MPI_Allgatherv(p.packed.data(), count, MPI_DOUBLE, p.received.data(), counts.data(), displs.data(),
                 MPI_DOUBLE, world);

  const size_t n = total / kPacked;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return p.received[kPacked * a] < p.received[kPacked * b]; });
  p.tags.resize(n);
  p.x.resize(n);
  p.spin.resize(n);
  p.magnitude.resize(n);
  for (size_t k = 0; k < n; k++) {
    const double *b = &p.received[kPacked * order[k]];
    p.tags[k] = static_cast<tagint>(b[0]);
    p.x[k] = {b[1], b[2], b[3]};
    p.magnitude[k] = b[7];
    p.spin[k] = {b[4] * b[7], b[5] * b[7], b[6] * b[7]};    // S = |S| s
  }
}

/* the hopping matrix, rebuilt when the atoms, their positions or the box changed */

void PairSDTB::update_hopping()
{
  Impl &p = *impl;
  const double box[9] = {domain->boxlo[0], domain->boxlo[1], domain->boxlo[2], domain->xprd, domain->yprd,
                         domain->zprd,     domain->xy,       domain->xz,       domain->yz};
  bool same = p.have_hopping && p.hopping_tags == p.tags && std::equal(box, box + 9, p.hopping_box);
  if (same)
    for (size_t k = 0; k < p.x.size() && same; k++)
      same = p.x[k].x == p.hopping_x[k].x && p.x[k].y == p.hopping_x[k].y && p.x[k].z == p.hopping_x[k].z;
  if (same) return;
  try {
    p.hopping = mlspin::build_hopping(p.x, p.lattice_box(domain), p.shells, p.hop, p.tol);
  } catch (mlspin::Error &e) {
    error->all(FLERR, "Pair style sd/tb: {}; check the lattice, the shells keyword or tol", e.what());
  }
  p.hopping_tags = p.tags;
  p.hopping_x = p.x;
  std::copy(box, box + 9, p.hopping_box);
  p.have_hopping = true;
}

/* ----------------------------------------------------------------------
   ED: rank 0 diagonalises and broadcasts; KPM: the vectors are shared by all ranks
------------------------------------------------------------------------- */

void PairSDTB::solve(bool want_site_energy)
{
  Impl &p = *impl;
  auto &r = p.result;
  const int n = static_cast<int>(p.tags.size());
  if (p.use_kpm) {
    try {
      p.solver->solve(p.hopping, p.spin, p.params, want_site_energy, r);
    } catch (mlspin::Error &e) {
      error->all(FLERR, "Pair style sd/tb: {}", e.what());
    }
    return;
  }

  std::string failure;
  if (comm->me == 0) {
    try {
      p.solver->solve(p.hopping, p.spin, p.params, want_site_energy, r);
    } catch (mlspin::Error &e) {
      failure = e.what();
    }
  }
  int length = static_cast<int>(failure.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, world);
  if (length) {
    failure.resize(length);
    MPI_Bcast(&failure[0], length, MPI_CHAR, 0, world);
    error->all(FLERR, "Pair style sd/tb: {}", failure);
  }
  const int per_site = want_site_energy ? 5 : 4;
  std::vector<double> buffer(2 + static_cast<size_t>(per_site) * n);
  if (comm->me == 0) {
    buffer[0] = r.energy;
    buffer[1] = r.mu;
    for (int i = 0; i < n; i++) {
      double *b = &buffer[2 + static_cast<size_t>(per_site) * i];
      b[0] = r.density[i];
      b[1] = r.spin[i].x;
      b[2] = r.spin[i].y;
      b[3] = r.spin[i].z;
      if (want_site_energy) b[4] = r.site_energy[i];
    }
  }
  MPI_Bcast(buffer.data(), static_cast<int>(buffer.size()), MPI_DOUBLE, 0, world);
  if (comm->me != 0) {
    r.energy = buffer[0];
    r.mu = buffer[1];
    r.density.resize(n);
    r.spin.resize(n);
    r.site_energy.resize(want_site_energy ? n : 0);
    for (int i = 0; i < n; i++) {
      const double *b = &buffer[2 + static_cast<size_t>(per_site) * i];
      r.density[i] = b[0];
      r.spin[i] = {b[1], b[2], b[3]};
      if (want_site_energy) r.site_energy[i] = b[4];
    }
  }
}

/* fm_i += (|S_i| / hbar) J m_i, energies; nothing on ghost atoms */

void PairSDTB::scatter_results()
{
  Impl &p = *impl;
  const auto &r = p.result;
  double **fm = atom->fm;
  const double scale = p.params.J / p.hbar;
  for (int i = 0; i < atom->nlocal; i++) {
    const int k = p.index_of(atom->tag[i]);
    const double f = scale * p.magnitude[k];
    fm[i][0] += f * r.spin[k].x;
    fm[i][1] += f * r.spin[k].y;
    fm[i][2] += f * r.spin[k].z;
    if (eflag_atom) eatom[i] += r.site_energy[k];
  }
  if (eflag_global && comm->me == 0) eng_vdwl += r.energy;
  // compute pair sums pvector over ranks: rank 0 holds the values, the others zero
  const double electrons = std::accumulate(r.density.begin(), r.density.end(), 0.0);
  pvector[0] = comm->me == 0 ? electrons : 0.0;
  pvector[1] = comm->me == 0 ? r.mu : 0.0;
}

/* ---------------------------------------------------------------------- */

void PairSDTB::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  gather_sites();
  update_hopping();
  solve(eflag_atom != 0);
  scatter_results();
  impl->last_step = update->ntimestep;
}

/* ---------------------------------------------------------------------- */

bool PairSDTB::electrons_of(tagint tag, double *out) const
{
  const int k = impl->index_of(tag);
  if (k < 0 || static_cast<size_t>(k) >= impl->result.density.size()) return false;
  out[0] = impl->result.density[k];
  out[1] = impl->result.spin[k].x;
  out[2] = impl->result.spin[k].y;
  out[3] = impl->result.spin[k].z;
  return true;
}

/* extract("mu"): the chemical potential of the last evaluation (the one found with filling) */

void *PairSDTB::extract(const char *name, int &dim)
{
  dim = 0;
  if (strcmp(name, "mu") == 0) return &impl->result.mu;
  return nullptr;
}

bigint PairSDTB::last_evaluation_step() const
{
  return impl->last_step;
}

double PairSDTB::memory_usage()
{
  const Impl &p = *impl;
  const double n = static_cast<double>(p.tags.size());
  double bytes = n * (sizeof(tagint) * 2 + sizeof(Vec3) * 3 + sizeof(double) * (1 + 2 * kPacked + 5));
  bytes += sizeof(int) * p.hopping.column.size() + sizeof(double) * p.hopping.value.size();
  if (!p.use_kpm && comm->me == 0) bytes += mlspin::EDSolver::memory_bytes(n);
  if (p.use_kpm) bytes += 8.0 * 2 * n * 16.0;    // a few Chebyshev vectors
  return bytes;
}
