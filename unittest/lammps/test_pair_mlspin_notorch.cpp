// A build without LibTorch (MLSPIN_WITH_TORCH=OFF): pair_style mlspin is still
// registered, but stops with an error that says how to get a build with LibTorch,
// and the model wrapper refuses every model with the same reason. The other styles
// are tested by their own tests in this build.
#include "lammps_session.h"

#include "core/error.h"
#include "core/torch_model.h"

#include <gtest/gtest.h>

#include "../expect_contains.h"

#include <string>

using mlspin_test::LammpsSession;

namespace {

const char *const kHowToFix = "install LibTorch (Debian/Ubuntu: apt-get install libtorch-dev";

}    // namespace

TEST(PairMLSpinWithoutTorch, PairStyleSaysHowToGetLibTorch)
{
  LammpsSession lmp;
  lmp.commands("units metal\natom_style spin/lattice\nregion box block 0 2 0 2 0 2\ncreate_box 1 box");
  for (const char *line : {"pair_style mlspin", "pair_style mlspin forces no threads 2"}) {
    const std::string message = lmp.error_of(line);
    EXPECT_CONTAINS(message, "Pair mlspin: this mlspin build has no LibTorch");
    EXPECT_CONTAINS(message, kHowToFix);
    EXPECT_CONTAINS(message, "-DMLSPIN_WITH_TORCH=ON");
  }
}

TEST(PairMLSpinWithoutTorch, TheModelWrapperRefusesEveryModel)
{
  EXPECT_CONTAINS(mlspin::TorchModel::unavailable_reason(), kHowToFix);
  std::string message;
  try {
    mlspin::TorchModel model("any bytes", "m.pt");
  } catch (const mlspin::Error &e) {
    message = e.what();
  }
  EXPECT_EQ(message, mlspin::TorchModel::unavailable_reason());
}
