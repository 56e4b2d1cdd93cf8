/* ----------------------------------------------------------------------
   mlspin: base class of compute mlspin/chirality and compute mlspin/order

   Neighbours come from an occasional full neighbor list built when the compute is
   invoked, so the compute can be used on any step; the ghost atoms' spin directions
   are refreshed by a forward communication of its own first, because the integrator
   may have turned the spins after the step's regular communication.
------------------------------------------------------------------------- */

#include "compute_mlspin_shell.h"

#include "comm_rows.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neigh_request.h"
#include "neighbor.h"
#include "pair.h"
#include "update.h"

#include "core/spin_order.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace LAMMPS_NS;
using mlspin::RingNeighbour;
using mlspin::Vec3;

ComputeMLSpinShell::ComputeMLSpinShell(LAMMPS *lmp, int narg, char **arg) :
    Compute(lmp, narg, arg), style_name(arg[2])
{
  peratom_flag = 1;
  comm_forward = 3;    // spin directions of ghost atoms
}

ComputeMLSpinShell::~ComputeMLSpinShell()
{
  memory->destroy(values);
}

void ComputeMLSpinShell::configure(const mlspin::LatticeShell &lattice, int ncolumns, int narg, char **arg,
                                   int first)
{
  shell = &lattice;
  columns = ncolumns;
  size_peratom_cols = columns;
  if (!atom->sp_flag)
    error->all(FLERR,
               "Compute {} needs per-atom spins: use atom_style spin/lattice (or the SPIN package's "
               "atom_style spin) instead of atom_style {}",
               style_name, atom->atom_style);

  for (int iarg = first; iarg < narg; iarg += 2) {
    if (strcmp(arg[iarg], "cutoff") == 0) {
      if (iarg + 2 > narg) utils::missing_cmd_args(FLERR, "compute " + style_name + " cutoff", error);
      cutoff_user = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (!(cutoff_user > 0.0) || !std::isfinite(cutoff_user))
        error->all(FLERR,
                   "Compute {} cutoff must be a positive distance between the nearest and the "
                   "next-nearest neighbour distance, got {}",
                   style_name, arg[iarg + 1]);
    } else {
      error->all(FLERR, "Unknown compute {} keyword {}; the only keyword is cutoff", style_name, arg[iarg]);
    }
  }
}

/* the default cutoff: midway between the first and second neighbour shells of the
   ideal lattice with the box's area (xy) per atom */

double ComputeMLSpinShell::default_cutoff() const
{
  if (atom->natoms == 0)
    error->all(FLERR, "Compute {} has no atoms to derive the lattice constant from; give the keyword cutoff",
               style_name);
  const double area_per_site = domain->xprd * domain->yprd / static_cast<double>(atom->natoms);
  return shell->shell_cutoff * mlspin::lattice_constant_from_area(*shell, area_per_site);
}

void ComputeMLSpinShell::init()
{
  if (!atom->sp_flag) error->all(FLERR, "Compute {} needs per-atom spins (atom_style spin/lattice)", style_name);
  cutoff = cutoff_user > 0.0 ? cutoff_user : default_cutoff();

  // the list is reused until the next reneighboring, so it reaches the skin further
  // (as compute rdf's); ghost atoms must cover that range
  const double skin = neighbor->skin, list_cutoff = cutoff + skin;
  const double ghost_range =
      force->pair ? std::max(force->pair->cutforce + skin, comm->cutghostuser) : comm->cutghostuser;
  if (list_cutoff > ghost_range)
    error->all(FLERR,
               "Compute {} nearest-neighbour cutoff {} plus the neighbor skin {} exceeds the ghost atom "
               "range {}: use comm_modify cutoff {} (or larger)",
               style_name, cutoff, skin, ghost_range, list_cutoff);
  if ((neighbor->style == Neighbor::MULTI) || (neighbor->style == Neighbor::MULTI_OLD))
    error->all(FLERR, "Compute {} needs neighbor style bin or nsq", style_name);

  neighbor->add_request(this, NeighConst::REQ_FULL | NeighConst::REQ_OCCASIONAL)->set_cutoff(list_cutoff);
}

void ComputeMLSpinShell::init_list(int /*id*/, NeighList *ptr)
{
  list = ptr;
}

void ComputeMLSpinShell::grow_output()
{
  if (atom->nmax <= nmax) return;
  memory->destroy(values);
  nmax = atom->nmax;
  memory->create(values, nmax, std::max(columns, 1), "mlspin/shell:values");
  if (columns == 0)
    vector_atom = values[0];
  else
    array_atom = values;
}

void ComputeMLSpinShell::collect_ring(int i, std::vector<RingNeighbour> &ring) const
{
  double **x = atom->x, **sp = atom->sp;
  const double cutsq = cutoff * cutoff;
  const int *neighbours = list->firstneigh[i];
  ring.clear();
  for (int jj = 0; jj < list->numneigh[i]; jj++) {
    const int j = neighbours[jj] & NEIGHMASK;
    const double dx = x[j][0] - x[i][0], dy = x[j][1] - x[i][1], dz = x[j][2] - x[i][2];
    if (dx * dx + dy * dy + dz * dz < cutsq) {
      RingNeighbour n;
      n.dx = dx;
      n.dy = dy;
      n.spin = Vec3(sp[j][0], sp[j][1], sp[j][2]);
      ring.push_back(n);
    }
  }
  mlspin::sort_counterclockwise(ring);
}

void ComputeMLSpinShell::compute_peratom()
{
  invoked_peratom = update->ntimestep;
  if (!list)    // init() has not run since the compute was defined
    error->all(FLERR, "Compute {} is used before a run has set it up: issue run 0 after defining it",
               style_name);
  grow_output();
  comm->forward_comm(this);
  neighbor->build_one(list);

  const int width = std::max(columns, 1), coordination = shell->coordination;
  const double largest_gap = 1.5 * 2.0 * M_PI / coordination;    // 90 deg triangular, 135 deg square
  const int *mask = atom->mask;
  double **sp = atom->sp;
  if (atom->nlocal > 0) std::fill(values[0], values[0] + static_cast<size_t>(atom->nlocal) * width, 0.0);

  // the site with the smallest ID that has no complete ring is reported on all ranks
  tagint bad_tag = MAXTAGINT;
  int bad_neighbours = 0;
  double bad_gap = 0.0;
  std::vector<RingNeighbour> ring;
  for (int ii = 0; ii < list->inum; ii++) {
    const int i = list->ilist[ii];
    if (!(mask[i] & groupbit)) continue;
    collect_ring(i, ring);
    const double gap = mlspin::largest_angular_gap(ring);
    if (static_cast<int>(ring.size()) != coordination || gap > largest_gap) {
      if (atom->tag[i] < bad_tag) {
        bad_tag = atom->tag[i];
        bad_neighbours = static_cast<int>(ring.size());
        bad_gap = gap * 180.0 / M_PI;
      }
      continue;
    }
    evaluate_site(Vec3(sp[i][0], sp[i][1], sp[i][2]), ring, values[i]);
  }

  tagint first_bad = MAXTAGINT;
  MPI_Allreduce(&bad_tag, &first_bad, 1, MPI_LMP_TAGINT, MPI_MIN, world);
  if (first_bad != MAXTAGINT) report_bad_site(first_bad, bad_tag == first_bad ? bad_neighbours : -1, bad_gap);
}

/* collective: every rank calls it with the same tag; the owner knows the details */

void ComputeMLSpinShell::report_bad_site(tagint tag, int neighbours, double gap_degrees)
{
  int count = 0;
  double gap = 0.0;
  MPI_Allreduce(&neighbours, &count, 1, MPI_INT, MPI_MAX, world);
  if (neighbours < 0) gap_degrees = -1.0;
  MPI_Allreduce(&gap_degrees, &gap, 1, MPI_DOUBLE, MPI_MAX, world);
  if (count != shell->coordination)
    error->all(FLERR,
               "Compute {} on step {}: atom {} has {} neighbours within the cutoff {}, a site of a {} "
               "lattice has {}; check the lattice, or set the nearest-neighbour range with the keyword "
               "cutoff (between the first and second neighbour distances)",
               style_name, update->ntimestep, tag, count, cutoff, shell->name, shell->coordination);
  error->all(FLERR,
             "Compute {} on step {}: the {} neighbours of atom {} within the cutoff {} leave an angular "
             "gap of {:.1f} degrees in the xy plane, so the atom is not inside a {} lattice (an edge "
             "atom, or a lattice not in the xy plane)",
             style_name, update->ntimestep, count, tag, cutoff, gap, shell->name);
}

int ComputeMLSpinShell::pack_forward_comm(int n, int *indices, double *buf, int /*pbc_flag*/, int * /*pbc*/)
{
  return mlspin_lammps::pack_rows(atom->sp, 3, n, indices, buf);    // directions only
}

void ComputeMLSpinShell::unpack_forward_comm(int n, int first, double *buf)
{
  mlspin_lammps::unpack_rows(atom->sp, 3, n, first, buf);
}

double ComputeMLSpinShell::memory_usage()
{
  return static_cast<double>(nmax) * std::max(columns, 1) * sizeof(double);
}
