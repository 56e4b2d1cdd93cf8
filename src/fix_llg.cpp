/* ----------------------------------------------------------------------
   mlspin: fix llg

   Adapter between LAMMPS and the core LLG integrators (src/core/llg.h): it packs the
   spins of the group, lets the integrator advance them, and evaluates the fields of
   every intermediate stage by re-running the pair style(s) and the fixes that write
   fm, with forward communication of spins and reverse communication of fm.
------------------------------------------------------------------------- */

#include "fix_llg.h"

#include "comm_rows.h"

#include "atom.h"
#include "atom_vec.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "group.h"
#include "memory.h"
#include "modify.h"
#include "neighbor.h"
#include "pair.h"
#include "timer.h"
#include "update.h"

#include "core/error.h"
#include "core/llg.h"
#include "core/thermal_noise.h"
#include "core/units.h"
#include "core/vec3.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace LAMMPS_NS;
using namespace FixConst;
using mlspin::Vec3;

namespace {

// fm values that no field source writes by accident (j = 3 * atom + component), set
// before each probe call
double sentinel_field(size_t j)
{
  return 0.123456789 + 0.0731 * (j % 3) + 1e-3 * ((j / 3) % 97);
}

// f and fm of the owned and ghost atoms and the spin directions of the owned atoms,
// saved on construction
struct ForcesAndSpins {
  std::vector<double> f, fm, s;

  explicit ForcesAndSpins(Atom *atom)
  {
    const size_t nall3 = 3 * static_cast<size_t>(atom->nlocal + atom->nghost);
    if (nall3) {
      f.assign(&atom->f[0][0], &atom->f[0][0] + nall3);
      fm.assign(&atom->fm[0][0], &atom->fm[0][0] + nall3);
    }
    for (int i = 0; i < atom->nlocal; i++) s.insert(s.end(), atom->sp[i], atom->sp[i] + 3);
  }

  // f as saved, fm set to the given values
  void restore_forces(Atom *atom, const std::vector<double> &fm_values) const
  {
    if (f.empty()) return;
    std::copy(f.begin(), f.end(), &atom->f[0][0]);
    std::copy(fm_values.begin(), fm_values.end(), &atom->fm[0][0]);
  }

  void restore_spins(Atom *atom) const
  {
    for (int i = 0; i < atom->nlocal; i++) std::copy(&s[3 * i], &s[3 * i] + 3, atom->sp[i]);
  }
};

// a generic unit direction per atom for the probe (golden-angle spiral over the IDs),
// so that no field source contributes exactly zero by symmetry (e.g. an anisotropy
// field 2K (s.n) n with all spins perpendicular to n)
void probe_direction(tagint tag, double *s)
{
  const double golden = 0.6180339887498949;
  double frac = tag * golden;
  frac -= std::floor(frac);
  const double z = 1.0 - 2.0 * (0.05 + 0.9 * frac), r = std::sqrt(1.0 - z * z);
  const double phi = 2.399963229728653 * tag;
  s[0] = r * std::cos(phi);
  s[1] = r * std::sin(phi);
  s[2] = z;
}

}    // namespace

struct FixLLG::Impl {
  mlspin::LLGSettings settings;
  mlspin::LLGScheme scheme = mlspin::LLGScheme::SemiImplicitB;
  std::unique_ptr<mlspin::LLGIntegrator> integrator;

  double temperature = 0.0;
  bigint seed = 0;
  bool lattice_moving = false;
  bool has_zeeman = false;
  double zeeman[3] = {0.0, 0.0, 0.0};    // energy units: E = -h . S

  double hbar = 1.0, boltz = 1.0;
  std::vector<Fix *> field_fixes;    // other fixes that write fm in post_force, in fix order
  bool field_fixes_known = false;    // found at the first step of each run

  // whether f must survive the extra evaluations: the lattice kick needs the regular
  // forces, and other fixes may read f before the next force evaluation clears it
  bool keep_forces = true;
  // whether the extra evaluations must send positions to ghost atoms, or spins suffice
  bool forward_positions = true;

  // local indices of the group atoms; atoms are reordered or migrate only when the
  // neighbor lists are rebuilt, so the list is kept until the next build
  std::vector<int> members;
  bool members_valid = false;
  bigint members_build = -1;    // neighbor->ncalls when members was collected
  int members_nlocal = -1;

  std::vector<Vec3> s, w_start, noise;
  std::vector<double> f_saved, f_pair_before;    // nall x 3

  // precession vector of an atom: fm plus the fix's own Zeeman term (sp: direction and
  // magnitude); defined here so that the per-spin loops inline it
  Vec3 total_field(const double *fm, const double *sp) const
  {
    Vec3 w{fm[0], fm[1], fm[2]};
    if (has_zeeman) {
      const double scale = sp[3] / hbar;    // E = -|S| h . s
      w += Vec3{scale * zeeman[0], scale * zeeman[1], scale * zeeman[2]};
    }
    return w;
  }
};

/* ---------------------------------------------------------------------- */

FixLLG::FixLLG(LAMMPS *lmp, int narg, char **arg) : Fix(lmp, narg, arg), impl(new Impl)
{
  if (!atom->sp_flag)
    error->all(FLERR,
               "Fix llg requires an atom style with spins: use atom_style spin/lattice "
               "(or spin, or a hybrid style containing one of them)");

  time_integrate = 1;
  scalar_flag = 1;
  global_freq = 1;
  extscalar = 1;
  energy_global_flag = 1;
  comm_forward = 4;    // sp of ghost atoms before the extra evaluations
  comm_reverse = 3;    // fm of ghost atoms after the extra evaluations

  parse_arguments(narg, arg);
}

FixLLG::~FixLLG() = default;

void FixLLG::parse_arguments(int narg, char **arg)
{
  bool have_alpha = false, have_seed = false;
  int iarg = 3;
  auto need = [&](int n) {
    if (iarg + n >= narg)
      error->all(FLERR, "Fix llg keyword {} needs {} value(s)", arg[iarg], n);
  };
  while (iarg < narg) {
    const std::string key = arg[iarg];
    if (key == "alpha") {
      need(1);
      impl->settings.alpha = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (!(impl->settings.alpha >= 0.0))
        error->all(FLERR, "Fix llg alpha must be >= 0, got {}", arg[iarg + 1]);
      have_alpha = true;
      iarg += 2;
    } else if (key == "temp") {
      need(1);
      impl->temperature = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (!(impl->temperature >= 0.0))
        error->all(FLERR, "Fix llg temp must be >= 0, got {}", arg[iarg + 1]);
      iarg += 2;
    } else if (key == "seed") {
      need(1);
      impl->seed = utils::bnumeric(FLERR, arg[iarg + 1], false, lmp);
      if (impl->seed <= 0) error->all(FLERR, "Fix llg seed must be a positive integer, got {}", arg[iarg + 1]);
      have_seed = true;
      iarg += 2;
    } else if (key == "integrator" || key == "form") {
      need(1);
      try {
        if (key == "integrator")
          impl->scheme = mlspin::parse_llg_scheme(arg[iarg + 1]);
        else
          impl->settings.form = mlspin::parse_llg_form(arg[iarg + 1]);
      } catch (mlspin::Error &e) {
        error->all(FLERR, "Fix llg: {}", e.what());
      }
      iarg += 2;
    } else if (key == "zeeman") {
      need(3);
      for (int k = 0; k < 3; k++) impl->zeeman[k] = utils::numeric(FLERR, arg[iarg + 1 + k], false, lmp);
      impl->has_zeeman = true;
      iarg += 4;
    } else if (key == "anisotropy") {
      error->all(FLERR,
                 "Fix llg keyword anisotropy was removed: use SPIN's fix precession/spin, which "
                 "has the same convention E = -K (s.n)^2 in energy units: 'fix ID {} "
                 "precession/spin anisotropy K nx ny nz'",
                 group->names[igroup]);
    } else if (key == "lattice") {
      need(1);
      const std::string mode = arg[iarg + 1];
      if (mode != "frozen" && mode != "moving")
        error->all(FLERR, "Fix llg lattice must be frozen or moving, got {}", mode);
      impl->lattice_moving = (mode == "moving");
      iarg += 2;
    } else {
      error->all(FLERR,
                 "Unknown fix llg keyword {}: use alpha, temp, seed, integrator, form, zeeman "
                 "or lattice",
                 key);
    }
  }
  if (!have_alpha) error->all(FLERR, "Fix llg needs the damping: add 'alpha A' (A >= 0)");
  if (impl->temperature > 0.0 && !have_seed)
    error->all(FLERR, "Fix llg temp {} needs a random seed: add 'seed S' with S > 0", impl->temperature);
}

int FixLLG::setmask()
{
  int mask = INITIAL_INTEGRATE;
  if (impl->lattice_moving) mask |= FINAL_INTEGRATE | PRE_REVERSE;
  return mask;
}

/* ---------------------------------------------------------------------- */

void FixLLG::init()
{
  if (utils::strmatch(update->integrate_style, "^respa"))
    error->all(FLERR, "Fix llg does not support run_style respa");
  if (force->pair && !force->newton_pair)
    error->all(FLERR,
               "Fix llg requires newton_pair on: pair styles put field contributions on ghost "
               "atoms, which would be lost with newton_pair off");
  if (impl->lattice_moving && (force->bond || force->angle || force->dihedral || force->improper || force->kspace))
    error->all(FLERR, "Fix llg lattice moving supports pair styles only, not bonded or kspace styles");

  try {
    const auto units = mlspin::spin_units(update->unit_style, force->hplanck, force->boltz);
    impl->hbar = units.hbar;
    impl->boltz = units.boltz;
    impl->integrator = mlspin::make_llg_integrator(impl->scheme, impl->settings);
    // iterative schemes must stop on every rank at the same iteration
    impl->integrator->set_global_max([this](double local) {
      double global = 0.0;
      MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_MAX, world);
      return global;
    });
  } catch (mlspin::Error &e) {
    error->all(FLERR, "Fix llg: {}", e.what());
  }

  check_no_other_integrator();
  // SPIN's thermostat has no callback of its own: only fix nve/spin applies it
  for (auto *fix : modify->get_fix_list())
    if (utils::strmatch(fix->style, "^langevin/spin"))
      error->all(FLERR,
                 "Fix llg {}: fix {} (style {}) acts only inside fix nve/spin and would have no "
                 "effect; for thermal noise use fix llg's own 'temp T seed S' (damping: alpha)",
                 id, fix->id, fix->style);
  impl->field_fixes.clear();
  impl->field_fixes_known = false;
  impl->keep_forces = impl->lattice_moving || forces_read_before_next_evaluation();
  impl->forward_positions = ghosts_may_be_stale();
}

/* ----------------------------------------------------------------------
   Between fix llg's initial_integrate and the next force evaluation (which clears f),
   f can be read only by other fixes' initial_integrate (those after fix llg),
   post_integrate, pre_exchange or pre_neighbor callbacks. Without such a fix the extra
   evaluations may leave f as they like, which saves saving and restoring it.
------------------------------------------------------------------------- */

/* ----------------------------------------------------------------------
   Ghost positions (and velocities) are those of the last communication. They are still
   current at fix llg's initial_integrate unless a fix before it has moved atoms in its
   own initial_integrate, the box changes (fix deform remaps atoms at the end of a step),
   or ghost velocities are communicated (integrators change v after every
   communication). LAMMPS itself relies on this: atoms move in initial_integrate,
   post_integrate (after fix llg) or at reneighboring, each followed by a communication.
   Otherwise the extra evaluations send only the spins.
------------------------------------------------------------------------- */

bool FixLLG::ghosts_may_be_stale()
{
  if (domain->box_change || comm->ghost_velocity) return true;
  const auto &fixes = modify->get_fix_list();
  for (size_t ifix = 0; ifix < fixes.size() && fixes[ifix] != this; ifix++)
    if (modify->fmask[ifix] & INITIAL_INTEGRATE) return true;
  return false;
}

bool FixLLG::forces_read_before_next_evaluation()
{
  const int may_read_f = INITIAL_INTEGRATE | POST_INTEGRATE | PRE_EXCHANGE | PRE_NEIGHBOR;
  const auto &fixes = modify->get_fix_list();
  for (size_t ifix = 0; ifix < fixes.size(); ifix++)
    if (fixes[ifix] != this && (modify->fmask[ifix] & may_read_f)) return true;
  return false;
}

/* another fix that integrates the same atoms would move them twice */

void FixLLG::check_no_other_integrator()
{
  const int *mask = atom->mask;
  const int nlocal = atom->nlocal;
  for (auto *fix : modify->get_fix_list()) {
    if (fix == this || !fix->time_integrate) continue;
    int overlap = 0, overlap_all = 0;
    for (int i = 0; i < nlocal; i++)
      if ((mask[i] & groupbit) && (mask[i] & fix->groupbit)) overlap = 1;
    MPI_Allreduce(&overlap, &overlap_all, 1, MPI_INT, MPI_MAX, world);
    if (overlap_all)
      error->all(FLERR,
                 "Fix llg {} and fix {} (style {}) both integrate atoms of group {}: "
                 "each atom may have one time integrator (fix llg moves spins and, with "
                 "lattice moving, positions)",
                 id, fix->id, fix->style, group->names[igroup]);
  }
}

void FixLLG::setup(int /*vflag*/)
{
  check_spins();
  impl->field_fixes_known = false;
  impl->members_valid = false;    // the group or the atoms may have changed between runs
}

/* ----------------------------------------------------------------------
   The fixes whose post_force writes fm are field sources: every integrator stage
   re-runs them at the stage's spins. At the first step of a run (when every fix has
   been set up) each other fix with a post_force callback is called on probe spins with
   fm preset to sentinel values; if fm changes on any rank, it is a source. A second
   call on the same state must give the same fm, otherwise (random fields) it cannot be
   re-evaluated and is an error. f, fm and the spins are restored afterwards, and each
   source is called once more at the real spins so that its own tallies (e.g. its
   energy) refer to them.
------------------------------------------------------------------------- */

void FixLLG::find_field_sources()
{
  const size_t nlocal3 = 3 * static_cast<size_t>(atom->nlocal);
  const size_t nall3 = 3 * static_cast<size_t>(atom->nlocal + atom->nghost);
  const ForcesAndSpins real(atom);
  std::vector<double> sentinel(nall3);
  for (size_t j = 0; j < nall3; j++) sentinel[j] = sentinel_field(j);
  for (int i = 0; i < atom->nlocal; i++) probe_direction(atom->tag[i], atom->sp[i]);
  auto owned_fields = [this, nlocal3]() {
    return nlocal3 ? std::vector<double>(&atom->fm[0][0], &atom->fm[0][0] + nlocal3) : std::vector<double>();
  };
  auto on_any_rank = [this](bool local) {
    int flag = local ? 1 : 0, any = 0;
    MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_MAX, world);
    return any != 0;
  };

  impl->field_fixes.clear();
  const auto &fixes = modify->get_fix_list();
  for (size_t ifix = 0; ifix < fixes.size(); ifix++) {
    Fix *fix = fixes[ifix];
    if (fix == this || !(modify->fmask[ifix] & POST_FORCE)) continue;
    real.restore_forces(atom, sentinel);
    fix->post_force(0);
    const auto first = owned_fields();
    if (!on_any_rank(!std::equal(first.begin(), first.end(), sentinel.begin()))) continue;
    real.restore_forces(atom, sentinel);
    fix->post_force(0);
    if (on_any_rank(owned_fields() != first))
      error->all(FLERR,
                 "Fix llg {}: fix {} (style {}) writes the spin field fm but gives a different "
                 "field when called twice on the same spins (random or history-dependent); fix "
                 "llg re-evaluates every field source at each integrator stage and cannot use "
                 "it (for thermal noise use fix llg's own 'temp T seed S')",
                 id, fix->id, fix->style);
    impl->field_fixes.push_back(fix);
  }

  // the sources' own tallies (e.g. their energy) must refer to the real spins
  real.restore_spins(atom);
  for (auto *fix : impl->field_fixes) {
    real.restore_forces(atom, real.fm);
    fix->post_force(0);
  }
  real.restore_forces(atom, real.fm);
  impl->field_fixes_known = true;
}

/* every spin of the group must have a finite nonzero direction; normalise it */

void FixLLG::check_spins()
{
  double **sp = atom->sp;
  const int *mask = atom->mask;
  for (int i = 0; i < atom->nlocal; i++) {
    if (!(mask[i] & groupbit)) continue;
    const double len = sqrt(sp[i][0] * sp[i][0] + sp[i][1] * sp[i][1] + sp[i][2] * sp[i][2]);
    if (!(len > 0.0) || !std::isfinite(len) || !std::isfinite(sp[i][3]))
      error->one(FLERR,
                 "Fix llg: atom {} has spin direction ({} {} {}) and magnitude {}; set a "
                 "finite nonzero spin, e.g. with 'set atom {} spin/atom 1.0 0 0 1'",
                 atom->tag[i], sp[i][0], sp[i][1], sp[i][2], sp[i][3], atom->tag[i]);
    for (int k = 0; k < 3; k++) sp[i][k] /= len;
  }
}

/* ----------------------------------------------------------------------
   lattice moving: the pair forces of the regular force evaluation, before
   reverse communication, so that the kick after the spin update can use
   F(x_n, S_n+1) = F_full(x_n, S_n) + [F_pair(x_n, S_n+1) - F_pair(x_n, S_n)]
------------------------------------------------------------------------- */

void FixLLG::setup_pre_reverse(int eflag, int vflag)
{
  pre_reverse(eflag, vflag);
}

void FixLLG::pre_reverse(int, int)
{
  const size_t n = 3 * static_cast<size_t>(atom->nlocal + atom->nghost);
  impl->f_pair_before.resize(n);
  if (n) memcpy(impl->f_pair_before.data(), &atom->f[0][0], n * sizeof(double));
}

/* ---------------------------------------------------------------------- */

void FixLLG::update_members()
{
  if (impl->members_valid && impl->members_build == neighbor->ncalls && impl->members_nlocal == atom->nlocal)
    return;
  const int *mask = atom->mask;
  impl->members.clear();
  for (int i = 0; i < atom->nlocal; i++)
    if (mask[i] & groupbit) impl->members.push_back(i);
  impl->members_valid = true;
  impl->members_build = neighbor->ncalls;
  impl->members_nlocal = atom->nlocal;
}

/* fm of all atoms; with forces also f and the atom style's other force arrays */

void FixLLG::clear_fields(bool forces)
{
  const size_t nall = atom->nlocal + atom->nghost;
  if (nall == 0) return;
  if (forces) {
    memset(&atom->f[0][0], 0, 3 * nall * sizeof(double));
    if (atom->avec->forceclearflag) atom->avec->force_clear(0, nall * sizeof(double));
  } else {
    memset(&atom->fm[0][0], 0, 3 * nall * sizeof(double));
  }
}

/* ----------------------------------------------------------------------
   the pair style(s) at the current spins and positions: fm and, with forces, f from
   zero. Without forces f keeps what it had plus the pair's contributions; the callers
   then never read it (it is restored or cleared before anyone else can).
------------------------------------------------------------------------- */

void FixLLG::compute_pair_fields(bool forces)
{
  // time stamps put the extra evaluations into the Pair and Comm rows of the timing
  // breakdown, not into Modify
  timer->stamp(Timer::MODIFY);
  if (forces || impl->forward_positions)
    comm->forward_comm();    // x and sp of ghost atoms
  else
    comm->forward_comm(this);    // sp only
  timer->stamp(Timer::COMM);
  clear_fields(forces);
  if (force->pair) force->pair->compute(0, 0);
  timer->stamp(Timer::PAIR);
}

/* ghost contributions onto their owners: f, fm and fm_long, or fm alone */

void FixLLG::sum_ghost_contributions(bool forces)
{
  if (force->newton) {
    if (forces)
      comm->reverse_comm();
    else
      comm->reverse_comm(this);
  }
  timer->stamp(Timer::COMM);
}

int FixLLG::pack_forward_comm(int n, int *list, double *buf, int /*pbc_flag*/, int * /*pbc*/)
{
  return mlspin_lammps::pack_rows(atom->sp, 4, n, list, buf);    // direction and magnitude
}

void FixLLG::unpack_forward_comm(int n, int first, double *buf)
{
  mlspin_lammps::unpack_rows(atom->sp, 4, n, first, buf);
}

int FixLLG::pack_reverse_comm(int n, int first, double *buf)
{
  double **fm = atom->fm;
  int m = 0;
  for (int i = first; i < first + n; i++) {
    buf[m++] = fm[i][0];
    buf[m++] = fm[i][1];
    buf[m++] = fm[i][2];
  }
  return m;
}

void FixLLG::unpack_reverse_comm(int n, int *list, double *buf)
{
  double **fm = atom->fm;
  int m = 0;
  for (int k = 0; k < n; k++) {
    const int j = list[k];
    fm[j][0] += buf[m++];
    fm[j][1] += buf[m++];
    fm[j][2] += buf[m++];
  }
}

void FixLLG::evaluate_fields(const std::vector<Vec3> &s, std::vector<Vec3> &w)
{
  double **sp = atom->sp;
  const auto &members = impl->members;
  for (size_t k = 0; k < members.size(); k++) {
    const int i = members[k];
    sp[i][0] = s[k].x;
    sp[i][1] = s[k].y;
    sp[i][2] = s[k].z;
  }
  compute_pair_fields(false);
  sum_ghost_contributions(false);
  for (auto *fix : impl->field_fixes) fix->post_force(0);

  double **fm = atom->fm;
  w.resize(members.size());
  for (size_t k = 0; k < members.size(); k++) w[k] = impl->total_field(fm[members[k]], sp[members[k]]);
}

/* ---------------------------------------------------------------------- */

void FixLLG::initial_integrate(int /*vflag*/)
{
  if (!impl->field_fixes_known) find_field_sources();
  update_members();
  const auto &members = impl->members;
  const size_t n = members.size();
  double **sp = atom->sp, **fm = atom->fm;

  // spins and fields at t_n: fm comes from the regular force evaluation of the last step
  impl->s.resize(n);
  impl->w_start.resize(n);
  for (size_t k = 0; k < n; k++) {
    const int i = members[k];
    impl->s[k] = {sp[i][0], sp[i][1], sp[i][2]};
    impl->w_start[k] = impl->total_field(fm[i], sp[i]);
  }

  // thermal noise, one draw per spin and step, the same in every stage
  impl->noise.clear();
  if (impl->temperature > 0.0) {
    const double sigma = mlspin::thermal_noise_sigma(impl->settings.alpha, impl->boltz * impl->temperature,
                                                     impl->hbar, update->dt, impl->settings.form);
    impl->noise.resize(n);
    for (size_t k = 0; k < n; k++)
      impl->noise[k] = sigma * mlspin::gaussian3(impl->seed, atom->tag[members[k]], update->ntimestep);
  }

  // the extra evaluations change f; the lattice kick and other fixes need the regular
  // forces
  const size_t nall3 = 3 * static_cast<size_t>(atom->nlocal + atom->nghost);
  if (impl->keep_forces) {
    impl->f_saved.resize(nall3);
    if (nall3) memcpy(impl->f_saved.data(), &atom->f[0][0], nall3 * sizeof(double));
  }

  try {
    impl->integrator->step(impl->s, impl->w_start, impl->noise, update->dt,
                           [this](const std::vector<Vec3> &s, std::vector<Vec3> &w) { evaluate_fields(s, w); });
  } catch (mlspin::Error &e) {
    error->all(FLERR, "Fix llg step {}: {}", update->ntimestep, e.what());
  }

  for (size_t k = 0; k < n; k++) {
    const int i = members[k];
    sp[i][0] = impl->s[k].x;
    sp[i][1] = impl->s[k].y;
    sp[i][2] = impl->s[k].z;
  }

  if (impl->lattice_moving) lattice_half_kick_and_drift();
  if (impl->keep_forces && nall3) memcpy(&atom->f[0][0], impl->f_saved.data(), nall3 * sizeof(double));
}

/* ----------------------------------------------------------------------
   lattice moving, first half of the velocity-Verlet step with the forces at the
   updated spins: v += dt/2 F(x_n, S_n+1)/m, x += dt v
------------------------------------------------------------------------- */

void FixLLG::lattice_half_kick_and_drift()
{
  compute_pair_fields(true);
  double **f = atom->f;
  const size_t nall = atom->nlocal + atom->nghost;
  if (impl->f_pair_before.size() != 3 * nall)
    error->one(FLERR, "Fix llg internal error: pair forces of the last step are missing");
  const double *before = impl->f_pair_before.data();
  for (size_t i = 0; i < nall; i++)
    for (int k = 0; k < 3; k++) f[i][k] -= before[3 * i + k];
  sum_ghost_contributions(true);

  double **x = atom->x, **v = atom->v;
  const double dtf = 0.5 * update->dt * force->ftm2v;
  const double dtv = update->dt;
  const double *saved = impl->f_saved.data();
  for (const int i : impl->members) {
    const double dtfm = dtf / (atom->rmass ? atom->rmass[i] : atom->mass[atom->type[i]]);
    for (int k = 0; k < 3; k++) {
      v[i][k] += dtfm * (saved[3 * i + k] + f[i][k]);
      x[i][k] += dtv * v[i][k];
    }
  }
}

void FixLLG::final_integrate()
{
  if (impl->lattice_moving) lattice_half_kick();
}

void FixLLG::lattice_half_kick()
{
  double **v = atom->v, **f = atom->f;
  const int *mask = atom->mask;
  const double dtf = 0.5 * update->dt * force->ftm2v;
  for (int i = 0; i < atom->nlocal; i++) {
    if (!(mask[i] & groupbit)) continue;
    const double dtfm = dtf / (atom->rmass ? atom->rmass[i] : atom->mass[atom->type[i]]);
    for (int k = 0; k < 3; k++) v[i][k] += dtfm * f[i][k];
  }
}

/* energy of the fix's own Zeeman term, for fix_modify energy yes */

double FixLLG::compute_scalar()
{
  double **sp = atom->sp;
  const int *mask = atom->mask;
  const double *h = impl->zeeman;
  double energy = 0.0;
  for (int i = 0; i < atom->nlocal; i++) {
    if (!(mask[i] & groupbit) || !impl->has_zeeman) continue;
    const double *s = sp[i];
    energy -= s[3] * (h[0] * s[0] + h[1] * s[1] + h[2] * s[2]);
  }
  double total = 0.0;
  MPI_Allreduce(&energy, &total, 1, MPI_DOUBLE, MPI_SUM, world);
  return total;
}

double FixLLG::memory_usage()
{
  return sizeof(double) * (impl->f_saved.capacity() + impl->f_pair_before.capacity()) +
      sizeof(Vec3) * (impl->s.capacity() + impl->w_start.capacity() + impl->noise.capacity()) +
      sizeof(int) * impl->members.capacity();
}
