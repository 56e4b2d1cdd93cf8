/* ----------------------------------------------------------------------
   mlspin: pair_style mlspin

   A thin adapter between LAMMPS and mlspin::TorchModel (src/core/torch_model.h):

     prepare_inputs()   full neighbor list -> centers (local atoms), edges within the
                        model cutoff, neighbor atoms (locals or ghosts), spins, types;
                        all in contiguous buffers that are reused between calls
     call_model()       one forward and one backward pass (dE/dS, dE/d edge_vec)
     scatter_results()  energies, fm = -(|S|/hbar) dE/dS on every atom (ghost parts
                        are reverse-communicated by LAMMPS, newton_pair on), forces
                        f_i += g_e, f_j -= g_e and the virial W = -sum_e d_e (x) g_e

   The model file is read by rank 0 and broadcast; every rank then builds its own
   TorchScript module from the same bytes, so loading errors are identical on all
   ranks and reported with error->all.
------------------------------------------------------------------------- */

#include "pair_mlspin.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "fix.h"
#include "force.h"
#include "memory.h"
#include "modify.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"

#include "core/canonical_solve.h"
#include "core/error.h"
#include "core/torch_model.h"
#include "core/units.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace LAMMPS_NS;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start)
{
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// doubles in a restart file: chunk, mu, filling, tolerance, last mu, d2N/dmu2, warm start
constexpr int kRestartDoubles = 6 + mlspin::ChemicalPotentialPredictor::kStateSize;

// grows a buffer to at least n elements (with some headroom); never shrinks
template <typename T> void reserve_elements(std::vector<T> &v, size_t n)
{
  if (v.size() < n) v.resize(n + n / 4 + 16);
}

// a string (message, file content below 2 GB) from rank `root` to all ranks
void broadcast(std::string &text, int root, MPI_Comm comm)
{
  int length = static_cast<int>(text.size());
  MPI_Bcast(&length, 1, MPI_INT, root, comm);
  text.resize(length);
  MPI_Bcast(text.data(), length, MPI_CHAR, root, comm);
}

}    // namespace

struct PairMLSpin::Impl {
  // user input
  std::string file;
  bool forces = true;
  int threads = 1;
  bool timers = false;
  int64_t chunk = 2048;    // centers per model call (memory and cache footprint), 0: all
  // electrons of a model with the mu input (contract 2): fixed mu or fixed filling
  enum Electrons { NO_MU = 0, FIXED_MU = 1, CANONICAL = 2 };
  int electrons_mode = NO_MU;
  double mu_input = 0.0;
  double filling = 0.0;       // electrons per site and spin orientation
  double tolerance = 1e-11;   // on N_e, relative
  bool native = true;      // native descriptor evaluation where the model has one
  bool bf16 = false;       // first network layer in bfloat16 (float32 models, AVX512-BF16)

  // derived from the model and the simulation
  std::unique_ptr<mlspin::TorchModel> model;
  std::vector<int64_t> species_of_type;    // per type, -1 for NULL
  double cutoff = 0.0, cutsq = 0.0;
  double inv_hbar = 1.0;
  bool changed_since_init = false;    // pair_coeff after the last init (run pre no)

  // buffers reused between calls (grown only)
  std::vector<int> centers;      // LAMMPS indices of the local atoms of mapped types
  std::vector<int> slot;         // LAMMPS atom index -> model atom index, or -1
  std::vector<int> atom_of;      // model atom index -> LAMMPS atom index
  std::vector<double> spin;      // n_atoms x 3
  std::vector<int64_t> types;    // n_atoms
  std::vector<int64_t> edge_index;    // 2 x edge_capacity: centers, then neighbors
  std::vector<double> edge_vec;       // edge_capacity x 3
  size_t edge_capacity = 0;
  int64_t n_local = 0, n_atoms = 0, n_edges = 0;
  const mlspin::ModelResults *results = nullptr;

  // electrons (contract 2): state of the last evaluation, kept by restart files
  double mu = 0.0;                  // chemical potential used
  mlspin::ChemicalPotentialPredictor warm_start;    // from the solutions of the last solves
  double curvature = std::nan("");  // d2N_e/dmu2 estimated by the last solve
  double electrons = 0.0;           // N_e, all ranks
  double electrons_local = 0.0;     // this rank's part
  double target = 0.0;              // 2 f N (canonical)
  int64_t last_step = -1;
  int solve_evaluations = 0;        // model passes of the last solve
  long total_solve_evaluations = 0;    // electron counts (without full evaluations)
  long total_missed = 0;               // speculative full evaluations discarded
  // accumulators saved before a speculative full evaluation
  std::vector<double> saved_fm, saved_f, saved_eatom, saved_vatom;
  double saved_energy = 0.0, saved_virial[6] = {0, 0, 0, 0, 0, 0};
  bool want_atom_electrons = false;
  std::vector<double> atom_electrons;    // n_i per LAMMPS local atom

  // timers (seconds, summed over calls since setup)
  double t_pack = 0.0, t_scatter = 0.0;
  long calls = 0;

  // the packed atoms and edges of the current chunk, at chemical potential mu
  mlspin::ModelInputs inputs(double mu_in) const
  {
    mlspin::ModelInputs in;
    in.n_atoms = n_atoms;
    in.n_local = n_local;
    in.n_edges = n_edges;
    in.spin = spin.data();
    in.types = types.data();
    in.edge_index = edge_index.data();
    in.edge_vec = edge_vec.data();
    in.mu = mu_in;
    return in;
  }
};

/* ---------------------------------------------------------------------- */

PairMLSpin::PairMLSpin(LAMMPS *lmp) : Pair(lmp), impl(new Impl)
{
  single_enable = 0;
  restartinfo = 1;    // settings and the warm-start mu; pair_coeff is given again
  nextra = 2;         // compute pair: [N_e, mu] of a model with the mu input
  pvector = new double[2]{0.0, 0.0};
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the virial comes from the edge gradients
  centroidstressflag = CENTROID_NOTAVAIL;
}

PairMLSpin::~PairMLSpin()
{
  delete[] pvector;
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairMLSpin::allocate()
{
  allocated = 1;
  const int n = atom->ntypes;
  memory->create(setflag, n + 1, n + 1, "pair:setflag");
  memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  for (int i = 0; i <= n; i++)
    for (int j = 0; j <= n; j++) setflag[i][j] = 0;
}

/* ----------------------------------------------------------------------
   pair_style mlspin [forces yes|no] [threads N] [chunk N] [timers yes|no] [native yes|no]
                     [bf16 yes|no] [mu m | filling f] [tolerance t]
------------------------------------------------------------------------- */

void PairMLSpin::settings(int narg, char **arg)
{
  // a build without LibTorch registers the style only to say how to get one with it
  const std::string no_torch = mlspin::TorchModel::unavailable_reason();
  if (!no_torch.empty()) error->all(FLERR, "Pair mlspin: {}", no_torch);

  // a repeated pair_style command starts from the defaults again
  const Impl defaults;
  impl->forces = defaults.forces;
  impl->threads = defaults.threads;
  impl->chunk = defaults.chunk;
  impl->timers = defaults.timers;
  impl->electrons_mode = defaults.electrons_mode;
  impl->tolerance = defaults.tolerance;
  impl->native = defaults.native;
  impl->bf16 = defaults.bf16;

  int iarg = 0;
  while (iarg < narg) {
    const std::string key = arg[iarg];
    if (iarg + 1 >= narg) error->all(FLERR, "Pair mlspin keyword {} needs a value", key);
    if (key == "forces") {
      impl->forces = utils::logical(FLERR, arg[iarg + 1], false, lmp);
    } else if (key == "threads") {
      impl->threads = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
      if (impl->threads < 1)
        error->all(FLERR, "Pair mlspin threads must be a positive integer, got {}", arg[iarg + 1]);
    } else if (key == "timers") {
      impl->timers = utils::logical(FLERR, arg[iarg + 1], false, lmp);
    } else if (key == "chunk") {
      impl->chunk = utils::bnumeric(FLERR, arg[iarg + 1], false, lmp);
      if (impl->chunk < 0)
        error->all(FLERR, "Pair mlspin chunk must be 0 (all atoms at once) or positive, got {}", arg[iarg + 1]);
    } else if (key == "mu" || key == "filling") {
      if (impl->electrons_mode != Impl::NO_MU)
        error->all(FLERR, "Pair mlspin takes one of 'mu m' (fixed chemical potential) or 'filling f' (fixed "
                   "electron number), not both");
      const double value = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (key == "mu") {
        impl->electrons_mode = Impl::FIXED_MU;
        impl->mu_input = value;
      } else {
        if (!(value > 0.0 && value < 1.0))
          error->all(FLERR, "Pair mlspin filling must lie strictly between 0 and 1 (electrons per site and spin "
                     "orientation), got {}", arg[iarg + 1]);
        impl->electrons_mode = Impl::CANONICAL;
        impl->filling = value;
      }
    } else if (key == "tolerance") {
      impl->tolerance = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (!(impl->tolerance > 0.0 && impl->tolerance < 1e-2))
        error->all(FLERR, "Pair mlspin tolerance (relative, on the electron number) must lie in (0, 0.01), got {}",
                   arg[iarg + 1]);
    } else if (key == "native") {
      impl->native = utils::logical(FLERR, arg[iarg + 1], false, lmp);
    } else if (key == "bf16") {
      impl->bf16 = utils::logical(FLERR, arg[iarg + 1], false, lmp);
    } else {
      error->all(FLERR, "Unknown pair mlspin keyword {}: use forces, threads, chunk, timers, native, bf16, mu, "
                 "filling or tolerance", key);
    }
    iarg += 2;
  }
}

/* ----------------------------------------------------------------------
   pair_coeff * * model.pt Species1|NULL Species2|NULL ...  (one name per type)
------------------------------------------------------------------------- */

void PairMLSpin::coeff(int narg, char **arg)
{
  const int ntypes = atom->ntypes;
  if (narg < 3 || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "Pair mlspin needs 'pair_coeff * * <model file> <species or NULL per atom type>'");
  if (narg != 3 + ntypes)
    error->all(FLERR,
               "Pair mlspin: pair_coeff * * {} needs one species name (or NULL) per atom type: "
               "{} types, got {} names",
               arg[2], ntypes, narg - 3);
  if (!allocated) allocate();

  load_model(arg[2]);
  const auto &meta = impl->model->metadata();

  impl->species_of_type.assign(ntypes + 1, -1);
  for (int t = 1; t <= ntypes; t++) {
    const std::string name = arg[2 + t];
    if (name == "NULL") continue;
    impl->species_of_type[t] = meta.species_index(name);
    if (impl->species_of_type[t] < 0) {
      std::string known;
      for (const auto &s : meta.species) known += " " + s;
      error->all(FLERR, "Pair mlspin: species {} (atom type {}) is not in model file {}, whose species are:{}",
                 name, t, impl->file, known);
    }
  }

  // standalone, every type needs a species; in hybrid styles (force->pair is the
  // hybrid) types mapped to NULL are left to the other sub-styles
  if (force->pair == this)
    for (int t = 1; t <= ntypes; t++)
      if (impl->species_of_type[t] < 0)
        error->all(FLERR,
                   "Pair mlspin: atom type {} is NULL in pair_coeff; types left to other styles need "
                   "pair_style hybrid/overlay",
                   t);

  int mapped = 0;
  for (int i = 1; i <= ntypes; i++)
    for (int j = 1; j <= ntypes; j++) {
      setflag[i][j] = (impl->species_of_type[i] >= 0 && impl->species_of_type[j] >= 0) ? 1 : 0;
      mapped += setflag[i][j];
    }
  if (!mapped) error->all(FLERR, "Pair mlspin: pair_coeff maps no atom type to a species of model file {}", impl->file);

  if (meta.units != update->unit_style)
    error->all(FLERR, "Pair mlspin: model file {} was made for units {}, but the simulation uses units {}",
               impl->file, meta.units, update->unit_style);
  impl->cutoff = meta.cutoff;
  impl->cutsq = meta.cutoff * meta.cutoff;
  impl->changed_since_init = true;
}

/* rank 0 reads the file, every rank builds the module from the same bytes */

void PairMLSpin::load_model(const std::string &file)
{
  std::string bytes, message;
  int failed = 0;
  if (comm->me == 0) {
    try {
      bytes = mlspin::read_binary_file(file);
      if (bytes.size() > static_cast<size_t>(INT_MAX)) throw mlspin::Error("model file '" + file + "' is larger than 2 GB");
    } catch (mlspin::Error &e) {
      failed = 1;
      message = e.what();
    }
  }
  MPI_Bcast(&failed, 1, MPI_INT, 0, world);
  if (failed) {
    broadcast(message, 0, world);
    error->all(FLERR, "Pair mlspin: {}", message);
  }

  broadcast(bytes, 0, world);

  impl->model.reset();
  impl->file = file;
  try {
    impl->model = std::make_unique<mlspin::TorchModel>(bytes, file);
  } catch (mlspin::Error &e) {
    error->all(FLERR, "Pair mlspin: {}", e.what());
  }

  if (comm->me == 0) {
    const auto &m = impl->model->metadata();
    std::string species;
    for (const auto &s : m.species) species += " " + s;
    utils::logmesg(lmp, "pair mlspin: model {} (contract {}): cutoff {} ({} units), dtype {}, species{}\n", file,
                   m.contract, m.cutoff, m.units, m.dtype, species);
    if (!m.description.empty()) utils::logmesg(lmp, "  {}\n", m.description);
  }
  select_native_path();
}

/* the native descriptor evaluation (and its bfloat16 first layer) where asked for and
   possible; the log says which */

void PairMLSpin::select_native_path()
{
  auto &model = *impl->model;
  model.set_native(impl->native);
  std::string why;
  const bool bf16 = model.set_bf16(impl->bf16 && model.native(), why);
  if (impl->bf16 && !model.native()) why = "it needs the native path, which is not in use";
  if (comm->me != 0) return;
  if (bf16)
    utils::logmesg(lmp, "pair mlspin: first network layer in bfloat16 (bf16 yes)\n");
  else if (impl->bf16)
    error->warning(FLERR, "Pair mlspin bf16 yes ignored: {}; the first layer runs in the model's precision", why);
  if (model.native())
    utils::logmesg(lmp, "pair mlspin: native evaluation of the lattice descriptor (native yes)\n");
  else if (!impl->native)
    utils::logmesg(lmp, "pair mlspin: TorchScript evaluation (native no)\n");
  else
    utils::logmesg(lmp, "pair mlspin: TorchScript evaluation (no native path: {})\n", model.native_reason());
}

/* ---------------------------------------------------------------------- */

void PairMLSpin::init_style()
{
  if (!impl->model) error->all(FLERR, "Pair mlspin has no model: use pair_coeff * * <model file> <species...>");
  if (!atom->sp_flag)
    error->all(FLERR, "Pair mlspin requires an atom style with spins (spin/lattice, spin, or a hybrid with one)");
  if (!force->newton_pair)
    error->all(FLERR,
               "Pair mlspin requires newton_pair on: fields and forces on ghost atoms are "
               "reverse-communicated to their owners");
  const auto &meta = impl->model->metadata();
  if (meta.units != update->unit_style)
    error->all(FLERR, "Pair mlspin: model file {} was made for units {}, but the simulation uses units {}",
               impl->file, meta.units, update->unit_style);
  try {
    impl->inv_hbar = 1.0 / mlspin::spin_units(update->unit_style, force->hplanck, force->boltz).hbar;
    mlspin::TorchModel::set_num_threads(impl->threads);
  } catch (mlspin::Error &e) {
    error->all(FLERR, "Pair mlspin: {}", e.what());
  }

  check_electron_settings();
  impl->want_atom_electrons = false;    // compute mlspin/electrons asks again in its init()

  neighbor->add_request(this, NeighConst::REQ_FULL);
  impl->changed_since_init = false;
  warn_if_forces_needed();
}

/* mu or filling exactly when the model takes mu, and mu inside its trained range */

void PairMLSpin::check_electron_settings() const
{
  const Impl &m = *impl;
  const auto &meta = m.model->metadata();
  const char *keyword = m.electrons_mode == Impl::CANONICAL ? "filling" : "mu";
  if (!meta.takes_mu && m.electrons_mode != Impl::NO_MU)
    error->all(FLERR,
               "Pair mlspin keyword {} needs a model with the chemical potential input (contract 2, "
               "\"inputs\": [\"mu\"]), but model file {} is contract {}: remove '{}' or use a mu-aware model",
               keyword, m.file, meta.contract, keyword);
  if (meta.takes_mu && m.electrons_mode == Impl::NO_MU)
    error->all(FLERR,
               "Pair mlspin: model file {} takes the chemical potential mu as an input (trained for mu in "
               "[{}, {}]): add 'filling f' (fixed electron number, canonical) or 'mu m' (fixed chemical "
               "potential) to pair_style mlspin",
               m.file, meta.mu_lo, meta.mu_hi);
  if (m.electrons_mode == Impl::FIXED_MU && !(m.mu_input >= meta.mu_lo && m.mu_input <= meta.mu_hi))
    error->all(FLERR,
               "Pair mlspin: mu {} is outside the range [{}, {}] that model file {} was trained for; choose mu "
               "inside it",
               m.mu_input, meta.mu_lo, meta.mu_hi, m.file);
}

double PairMLSpin::init_one(int i, int j)
{
  if (setflag[i][j] == 0) error->all(FLERR, "Pair mlspin: atom types {} and {} are not mapped to species", i, j);
  return impl->cutoff;
}

/* with 'forces no' nothing that moves atoms may rely on the forces of this style */

void PairMLSpin::warn_if_forces_needed() const
{
  if (impl->forces || comm->me != 0) return;
  const auto &fixes = modify->get_fix_list();
  for (size_t k = 0; k < fixes.size(); k++)
    if (fixes[k]->time_integrate && (modify->fmask[k] & FixConst::FINAL_INTEGRATE))
      error->warning(FLERR,
                     "Pair mlspin forces no: fix {} (style {}) integrates positions but gets no forces "
                     "(and no virial) from pair mlspin",
                     fixes[k]->id, fixes[k]->style);
  if (update->whichflag == 2) error->warning(FLERR, "Pair mlspin forces no: the minimizer gets no forces from it");
}

/* the neighbor list and the ghost atoms must reach as far as the model looks */

void PairMLSpin::check_cutoff() const
{
  const double neigh = neighbor->cutneighmax;
  const double ghost = comm->get_comm_cutoff();
  if (impl->cutoff > neigh || impl->cutoff > ghost)
    error->all(FLERR,
               "Pair mlspin: the cutoff {} of model file {} is larger than the neighbor list cutoff {} or "
               "the ghost atom cutoff {}; run with 'pre yes' after changing pair_coeff",
               impl->cutoff, impl->file, neigh, ghost);
}

void PairMLSpin::setup()
{
  check_cutoff();
  impl->t_pack = impl->t_scatter = 0.0;
  impl->calls = 0;
  impl->warm_start.keep_last_only();    // the spins may have been changed between runs
  impl->total_solve_evaluations = 0;
  impl->total_missed = 0;
  if (impl->model) impl->model->reset_timings();
}

/* ---------------------------------------------------------------------- */

void PairMLSpin::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  if (!list) error->all(FLERR, "Pair mlspin was not initialised: run with 'pre yes' after changing the pair style");
  if (impl->changed_since_init) {    // pair_coeff and then 'run ... pre no'
    check_cutoff();
    impl->changed_since_init = false;
  }

  Impl &m = *impl;
  auto start = Clock::now();
  collect_centers();
  m.t_pack += seconds_since(start);

  // the centers in chunks (all at once by default); a failing chunk stops the loop,
  // and the failure is reported collectively once per call, whatever the chunk counts
  const int64_t ncenters = static_cast<int64_t>(m.centers.size());
  const int64_t chunk = m.chunk > 0 ? m.chunk : std::max<int64_t>(ncenters, 1);
  // one chunk: its inputs serve the mu solve and the evaluation
  const bool one_chunk = ncenters <= chunk;
  if (one_chunk) {
    start = Clock::now();
    prepare_inputs(0, ncenters);
    m.t_pack += seconds_since(start);
  }
  // canonical: the solve may end with the full evaluation at the solved mu
  bool evaluated = false;
  if (m.electrons_mode == Impl::CANONICAL) evaluated = solve_chemical_potential(chunk, one_chunk);
  if (m.electrons_mode == Impl::FIXED_MU) m.mu = m.mu_input;
  if (!evaluated) {
    std::string message;
    const int status = evaluate_all(chunk, one_chunk, message);
    report_failure(status, message);
  }
  if (one_chunk) release_slots();
  if (m.electrons_mode != Impl::NO_MU) sum_electrons();
  m.last_step = update->ntimestep;
  m.calls++;
}

/* the model on every chunk of centers at mu, scattered; a failing chunk stops the loop,
   and the caller reports the failure collectively */

int PairMLSpin::evaluate_all(int64_t chunk, bool one_chunk, std::string &message)
{
  Impl &m = *impl;
  const int64_t ncenters = static_cast<int64_t>(m.centers.size());
  m.electrons_local = 0.0;
  if (m.want_atom_electrons) {
    reserve_elements(m.atom_electrons, atom->nmax);
    std::fill(m.atom_electrons.begin(), m.atom_electrons.end(), 0.0);
  }
  int status = 0;
  for (int64_t first = 0; first < ncenters && !status; first += chunk) {
    auto start = Clock::now();
    if (!one_chunk) prepare_inputs(first, std::min(ncenters, first + chunk));
    m.t_pack += seconds_since(start);

    status = call_model(message);
    if (status) break;

    start = Clock::now();
    scatter_results();
    if (!one_chunk) release_slots();
    m.t_scatter += seconds_since(start);
  }
  return status;
}

/* what evaluate_all() adds to, saved before a speculative evaluation and put back when
   the solver discards it */

void PairMLSpin::save_accumulators()
{
  Impl &m = *impl;
  const size_t nall = static_cast<size_t>(atom->nlocal + atom->nghost);
  m.saved_fm.assign(&atom->fm[0][0], &atom->fm[0][0] + 3 * nall);
  if (m.forces) m.saved_f.assign(&atom->f[0][0], &atom->f[0][0] + 3 * nall);
  if (eflag_atom) m.saved_eatom.assign(eatom, eatom + nall);
  if (vflag_atom) m.saved_vatom.assign(&vatom[0][0], &vatom[0][0] + 6 * nall);
  m.saved_energy = eng_vdwl;
  std::copy(virial, virial + 6, m.saved_virial);
}

void PairMLSpin::restore_accumulators()
{
  Impl &m = *impl;
  std::copy(m.saved_fm.begin(), m.saved_fm.end(), &atom->fm[0][0]);
  if (m.forces) std::copy(m.saved_f.begin(), m.saved_f.end(), &atom->f[0][0]);
  if (eflag_atom) std::copy(m.saved_eatom.begin(), m.saved_eatom.end(), eatom);
  if (vflag_atom) std::copy(m.saved_vatom.begin(), m.saved_vatom.end(), &vatom[0][0]);
  eng_vdwl = m.saved_energy;
  std::copy(m.saved_virial, m.saved_virial + 6, virial);
}

/* ----------------------------------------------------------------------
   canonical electrons: mu with sum_i n_i(S; mu) = 2 f N over all ranks (core solver,
   Newton with the autograd dN_e/dmu, bracketed inside the model's mu range), warm
   started from the last solution. When a Newton step is predicted to land within the
   tolerance, the full evaluation is done there at once (speculation) and kept if N_e
   meets the tolerance; returns whether it was.
------------------------------------------------------------------------- */

bool PairMLSpin::solve_chemical_potential(int64_t chunk, bool one_chunk)
{
  Impl &m = *impl;
  const auto &meta = m.model->metadata();
  const int64_t ncenters = static_cast<int64_t>(m.centers.size());
  double sites = static_cast<double>(ncenters);
  MPI_Allreduce(MPI_IN_PLACE, &sites, 1, MPI_DOUBLE, MPI_SUM, world);
  m.target = 2.0 * m.filling * sites;

  int status = 0;
  std::string message;
  auto count = [&](double mu) {
    mlspin::ElectronCount total;
    for (int64_t first = 0; first < ncenters && !status; first += chunk) {
      if (!one_chunk) prepare_inputs(first, std::min(ncenters, first + chunk));
      const mlspin::ModelInputs in = m.inputs(mu);
      try {
        const auto c = m.model->count_electrons(in);
        total.electrons += c.electrons;
        total.slope += c.slope;
      } catch (mlspin::Error &e) {
        status = 1;
        message = e.what();
      }
      if (!one_chunk) release_slots();
    }
    // a failing rank sends NaN, so that every rank stops in the solver at once
    if (status) total.electrons = total.slope = std::nan("");
    return total;
  };
  mlspin::Speculation speculation;
  speculation.evaluate = [&](double mu) {
    m.mu = mu;
    save_accumulators();
    if (!status) status = evaluate_all(chunk, one_chunk, message);
    return status ? std::nan("") : m.electrons_local;
  };
  speculation.discard = [&]() { restore_accumulators(); };
  auto reduce = [&](double *values, int n) { MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_DOUBLE, MPI_SUM, world); };

  const double start = m.warm_start.empty() ? 0.5 * (meta.mu_lo + meta.mu_hi) : m.warm_start.predict();
  mlspin::CanonicalSolveOptions options;
  options.rtol = m.tolerance;
  options.curvature_hint = m.curvature;
  try {
    const auto solution = mlspin::solve_chemical_potential(count, reduce, m.target, start, meta.mu_lo, meta.mu_hi,
                                                           options, &speculation);
    m.mu = solution.mu;
    m.curvature = solution.curvature;
    m.warm_start.record(solution.mu);
    m.solve_evaluations = solution.evaluations;
    m.total_solve_evaluations += solution.evaluations - (solution.evaluated ? 1 : 0);
    m.total_missed += solution.missed;
    return solution.evaluated;
  } catch (mlspin::UnreachableElectronNumber &e) {
    report_failure(status, message);
    error->all(FLERR,
               "Pair mlspin: filling {} cannot be reached with model file {} at step {}: for the current spins its "
               "mu range [{}, {}] gives fillings {:.10g} (mu = {}) to {:.10g} (mu = {}); choose a filling in "
               "between or a model trained for a wider mu range",
               m.filling, m.file, update->ntimestep, meta.mu_lo, meta.mu_hi, e.electrons_at_lo / (2.0 * sites),
               meta.mu_lo, e.electrons_at_hi / (2.0 * sites), meta.mu_hi);
  } catch (mlspin::Error &e) {
    report_failure(status, message);
    error->all(FLERR, "Pair mlspin: the chemical potential for filling {} did not converge at step {}: {}",
               m.filling, update->ntimestep, e.what());
  }
  return false;
}

/* N_e of the evaluation over all ranks, for thermo output (compute pair) and computes */

void PairMLSpin::sum_electrons()
{
  Impl &m = *impl;
  MPI_Allreduce(&m.electrons_local, &m.electrons, 1, MPI_DOUBLE, MPI_SUM, world);
  // compute pair sums pvector over ranks: rank 0 holds the values, the others zero
  pvector[0] = comm->me == 0 ? m.electrons : 0.0;
  pvector[1] = comm->me == 0 ? m.mu : 0.0;
}

/* local atoms of mapped types, in neighbor list order; every slot unused */

void PairMLSpin::collect_centers()
{
  Impl &m = *impl;
  const int nall = atom->nlocal + atom->nghost;
  reserve_elements(m.slot, nall);
  reserve_elements(m.atom_of, nall);
  std::fill(m.slot.begin(), m.slot.begin() + nall, -1);
  m.n_local = m.n_atoms = m.n_edges = 0;

  const int *const type = atom->type;
  const int64_t *const species = m.species_of_type.data();
  m.centers.clear();
  for (int ii = 0; ii < list->inum; ii++) {
    const int i = list->ilist[ii];
    if (species[type[i]] >= 0) m.centers.push_back(i);
  }
}

/* after a chunk: the slots it used are free again */

void PairMLSpin::release_slots()
{
  Impl &m = *impl;
  for (int64_t a = 0; a < m.n_atoms; a++) m.slot[m.atom_of[a]] = -1;
  m.n_local = m.n_atoms = m.n_edges = 0;
}

/* ----------------------------------------------------------------------
   model atoms of centers[first, last): the centers (0..n_local-1), then every other
   atom that is a neighbor of one of them within the cutoff (ghost or local); edges
   grouped by center, edge_vec = x_neighbor - x_center
------------------------------------------------------------------------- */

void PairMLSpin::prepare_inputs(int64_t first, int64_t last)
{
  Impl &m = *impl;
  const double *const x = &atom->x[0][0];
  const double *const *const sp = atom->sp;
  const int *const type = atom->type;
  const int64_t *const species = m.species_of_type.data();
  const int *const numneigh = list->numneigh;
  int **const firstneigh = list->firstneigh;
  int *const slot = m.slot.data();
  int *const atom_of = m.atom_of.data();

  int64_t n = 0;
  size_t max_edges = 0;
  for (int64_t c = first; c < last; c++) {
    const int i = m.centers[c];
    slot[i] = static_cast<int>(n);
    atom_of[n++] = i;
    max_edges += numneigh[i];
  }
  m.n_local = n;

  if (m.edge_capacity < max_edges) {
    m.edge_capacity = max_edges + max_edges / 4 + 16;
    m.edge_index.resize(2 * m.edge_capacity);
    m.edge_vec.resize(3 * m.edge_capacity);
  }
  int64_t *const center = m.edge_index.data();
  int64_t *const neighbor_row = center + m.edge_capacity;    // moved behind the centers below
  double *const vec = m.edge_vec.data();
  const double cutsq = m.cutsq;

  int64_t e = 0;
  for (int64_t k = 0; k < m.n_local; k++) {
    const int i = atom_of[k];
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    const int *const jlist = firstneigh[i];
    const int jnum = numneigh[i];
    for (int jj = 0; jj < jnum; jj++) {
      const int j = jlist[jj] & NEIGHMASK;
      const double dx = x[3 * j] - xi, dy = x[3 * j + 1] - yi, dz = x[3 * j + 2] - zi;
      if (dx * dx + dy * dy + dz * dz >= cutsq || species[type[j]] < 0) continue;
      if (slot[j] < 0) {
        slot[j] = static_cast<int>(n);
        atom_of[n++] = j;
      }
      center[e] = k;
      neighbor_row[e] = slot[j];
      vec[3 * e] = dx;
      vec[3 * e + 1] = dy;
      vec[3 * e + 2] = dz;
      e++;
    }
  }
  m.n_edges = e;
  m.n_atoms = n;
  if (e) std::memmove(center + e, neighbor_row, e * sizeof(int64_t));    // [2, E] contiguous

  reserve_elements(m.spin, 3 * n);
  reserve_elements(m.types, n);
  double *const s = m.spin.data();
  int64_t *const t = m.types.data();
  for (int64_t a = 0; a < n; a++) {
    const int i = atom_of[a];
    const double *si = sp[i];
    s[3 * a] = si[0] * si[3];
    s[3 * a + 1] = si[1] * si[3];
    s[3 * a + 2] = si[2] * si[3];
    t[a] = species[type[i]];
  }
}

/* ---------------------------------------------------------------------- */

int PairMLSpin::call_model(std::string &message)
{
  Impl &m = *impl;
  mlspin::ModelInputs in = m.inputs(m.mu);
  in.atom_electrons = m.want_atom_electrons;

  try {
    m.results = &m.model->evaluate(in, m.forces);
  } catch (mlspin::Error &e) {
    message = e.what();
    return 1;
  }
  if (m.model->last_results_finite()) return 0;

  message = "model file " + m.file + " returned non-finite energies, fields or forces";
  const double *en = m.results->atom_energy;
  for (int64_t k = 0; k < m.n_local; k++)
    if (!std::isfinite(en[k])) {
      message += " (energy of atom ID " + std::to_string(atom->tag[m.atom_of[k]]) + ")";
      break;
    }
  message += " at step " + std::to_string(update->ntimestep) +
      ": check the model and the configuration (overlapping atoms, zero spins)";
  return 1;
}

/* a failure on any rank stops every rank with the message of the first failing one */

void PairMLSpin::report_failure(int status, const std::string &message)
{
  int first = status ? comm->me : comm->nprocs;
  if (comm->nprocs > 1) {
    int local = first;
    MPI_Allreduce(&local, &first, 1, MPI_INT, MPI_MIN, world);
  }
  if (first == comm->nprocs) return;
  std::string text = message;
  broadcast(text, first, world);
  error->all(FLERR, "Pair mlspin: {}", text);
}

/* ---------------------------------------------------------------------- */

void PairMLSpin::scatter_results()
{
  Impl &m = *impl;
  // canonical: the free energy F = Omega + mu N_e with N_e = 2 f N, i.e. 2 f mu per atom
  const double shift = m.electrons_mode == Impl::CANONICAL ? 2.0 * m.filling * m.mu : 0.0;
  if (eflag_global) eng_vdwl += m.results->energy + shift * static_cast<double>(m.n_local);
  if (eflag_atom) {
    const double *en = m.results->atom_energy;
    for (int64_t k = 0; k < m.n_local; k++) eatom[m.atom_of[k]] += en[k] + shift;
  }
  m.electrons_local += m.results->electrons;
  if (m.results->atom_electrons)
    for (int64_t k = 0; k < m.n_local; k++) m.atom_electrons[m.atom_of[k]] = m.results->atom_electrons[k];
  scatter_fields();
  if (m.forces) scatter_forces_and_virial();
}

/* fm_i += -(|S_i|/hbar) dE/dS_i on every model atom, ghosts included */

void PairMLSpin::scatter_fields()
{
  const Impl &m = *impl;
  double *const fm = &atom->fm[0][0];
  const double *const *const sp = atom->sp;
  const double *const g = m.results->spin_grad;
  const int *const atom_of = m.atom_of.data();
  for (int64_t a = 0; a < m.n_atoms; a++) {
    const int i = atom_of[a];
    const double scale = -sp[i][3] * m.inv_hbar;
    fm[3 * i] += scale * g[3 * a];
    fm[3 * i + 1] += scale * g[3 * a + 1];
    fm[3 * i + 2] += scale * g[3 * a + 2];
  }
}

/* edge (i, j) with g = dE/d(x_j - x_i): f_i += g, f_j -= g, virial -= d (x) g */

void PairMLSpin::scatter_forces_and_virial()
{
  const Impl &m = *impl;
  double *const f = &atom->f[0][0];
  const double *const g = m.results->edge_grad;
  const double *const d = m.edge_vec.data();
  const int64_t *const center = m.edge_index.data();
  const int64_t *const neighbor_row = center + m.n_edges;
  const int *const atom_of = m.atom_of.data();
  const int64_t ne = m.n_edges;

  for (int64_t e = 0; e < ne; e++) {
    const int i = atom_of[center[e]], j = atom_of[neighbor_row[e]];
    for (int c = 0; c < 3; c++) {
      f[3 * i + c] += g[3 * e + c];
      f[3 * j + c] -= g[3 * e + c];
    }
  }
  if (!vflag_either) return;

  double w_sum[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  for (int64_t e = 0; e < ne; e++) {
    const double *de = d + 3 * e, *ge = g + 3 * e;
    const double w[6] = {-de[0] * ge[0], -de[1] * ge[1], -de[2] * ge[2],
                         -de[0] * ge[1], -de[0] * ge[2], -de[1] * ge[2]};
    if (vflag_global)
      for (int c = 0; c < 6; c++) w_sum[c] += w[c];
    if (vflag_atom) {
      const int i = atom_of[center[e]], j = atom_of[neighbor_row[e]];
      for (int c = 0; c < 6; c++) {
        vatom[i][c] += 0.5 * w[c];
        vatom[j][c] += 0.5 * w[c];
      }
    }
  }
  if (vflag_global)
    for (int c = 0; c < 6; c++) virial[c] += w_sum[c];
}

/* ---------------------------------------------------------------------- */

void PairMLSpin::finish()
{
  if (!impl->timers || !impl->model) return;
  const auto &t = impl->model->timings();
  const double local[5] = {impl->t_pack, t.forward, t.backward, t.convert, impl->t_scatter};
  double sum[5], max[5];
  MPI_Reduce(local, sum, 5, MPI_DOUBLE, MPI_SUM, 0, world);
  MPI_Reduce(local, max, 5, MPI_DOUBLE, MPI_MAX, 0, world);
  // native path: the descriptor's parts of forward and backward (the rest is the network)
  const double part[2] = {t.descriptor_forward, t.descriptor_backward};
  double part_sum[2];
  MPI_Reduce(part, part_sum, 2, MPI_DOUBLE, MPI_SUM, 0, world);
  if (comm->me != 0) return;
  const char *names[5] = {"neighbor packing", "forward", "backward", "convert+check", "scatter"};
  double total = 0.0;
  for (double s : sum) total += s / comm->nprocs;
  std::string text = fmt::format(
      "\npair mlspin timers: {} evaluations, {} ranks, {} LibTorch thread(s) per rank\n"
      "  {:<18} {:>12} {:>12} {:>8}\n",
      impl->calls, comm->nprocs, mlspin::TorchModel::num_threads(), "phase", "avg s", "max s", "%");
  for (int k = 0; k < 5; k++) {
    const double avg = sum[k] / comm->nprocs;
    text += fmt::format("  {:<18} {:>12.6g} {:>12.6g} {:>8.2f}\n", names[k], avg, max[k],
                        total > 0.0 ? 100.0 * avg / total : 0.0);
  }
  text += fmt::format("  {:<18} {:>12.6g}\n", "total", total);
  if (impl->electrons_mode == Impl::CANONICAL && impl->calls > 0)
    text += fmt::format("  canonical electrons: {:.3g} electron-count passes per evaluation (mu solve), {:.3g} "
                        "discarded full evaluations per evaluation\n",
                        static_cast<double>(impl->total_solve_evaluations) / impl->calls,
                        static_cast<double>(impl->total_missed) / impl->calls);
  if (part_sum[0] + part_sum[1] > 0.0)
    text += fmt::format("  of which native descriptor: forward {:.6g} s, backward {:.6g} s (average over ranks)\n",
                        part_sum[0] / comm->nprocs, part_sum[1] / comm->nprocs);
  utils::logmesg(lmp, text);
}

/* ----------------------------------------------------------------------
   restart files: the settings, the chemical potential of the last evaluation (the warm
   start of the canonical solve) and its d2N_e/dmu2 estimate; the model is given again
   by pair_coeff
------------------------------------------------------------------------- */

void PairMLSpin::write_restart(FILE *fp)
{
  write_restart_settings(fp);
}

void PairMLSpin::read_restart(FILE *fp)
{
  read_restart_settings(fp);
}

void PairMLSpin::write_restart_settings(FILE *fp)
{
  const Impl &m = *impl;
  const int ints[6] = {m.forces ? 1 : 0, m.threads, m.timers ? 1 : 0, m.electrons_mode, 0, 0};
  double doubles[kRestartDoubles] = {static_cast<double>(m.chunk), m.mu_input, m.filling, m.tolerance, m.mu, m.curvature};
  m.warm_start.save(doubles + 6);
  fwrite(ints, sizeof(int), 6, fp);
  fwrite(doubles, sizeof(double), kRestartDoubles, fp);
}

void PairMLSpin::read_restart_settings(FILE *fp)
{
  int ints[6] = {0, 0, 0, 0, 0, 0};
  double doubles[kRestartDoubles] = {};
  if (comm->me == 0) {
    utils::sfread(FLERR, ints, sizeof(int), 6, fp, nullptr, error);
    utils::sfread(FLERR, doubles, sizeof(double), kRestartDoubles, fp, nullptr, error);
  }
  MPI_Bcast(ints, 6, MPI_INT, 0, world);
  MPI_Bcast(doubles, kRestartDoubles, MPI_DOUBLE, 0, world);
  Impl &m = *impl;
  m.forces = ints[0] != 0;
  m.threads = ints[1];
  m.timers = ints[2] != 0;
  m.electrons_mode = ints[3];
  m.chunk = static_cast<int64_t>(doubles[0]);
  m.mu_input = doubles[1];
  m.filling = doubles[2];
  m.tolerance = doubles[3];
  m.mu = doubles[4];
  m.curvature = doubles[5];
  m.warm_start.load(doubles + 6);
}

/* extract("mu") and extract("electrons"): scalars of the last evaluation */

void *PairMLSpin::extract(const char *name, int &dim)
{
  dim = 0;
  if (strcmp(name, "mu") == 0) return &impl->mu;
  if (strcmp(name, "electrons") == 0) return &impl->electrons;
  return nullptr;
}

bool PairMLSpin::takes_mu() const
{
  return impl->model && impl->model->metadata().takes_mu;
}

double PairMLSpin::chemical_potential() const
{
  return impl->mu;
}

double PairMLSpin::electron_number() const
{
  return impl->electrons;
}

const double *PairMLSpin::atom_electrons() const
{
  return impl->atom_electrons.data();
}

int64_t PairMLSpin::last_evaluation_step() const
{
  return impl->last_step;
}

void PairMLSpin::request_atom_electrons()
{
  impl->want_atom_electrons = true;
}

double PairMLSpin::memory_usage()
{
  const Impl &m = *impl;
  double bytes = Pair::memory_usage();
  bytes += sizeof(int) * (m.centers.capacity() + m.slot.capacity() + m.atom_of.capacity());
  bytes += sizeof(double) * (m.spin.capacity() + m.edge_vec.capacity());
  bytes += sizeof(int64_t) * (m.types.capacity() + m.edge_index.capacity());
  if (m.model) bytes += m.model->memory_bytes();
  return bytes;
}
