"""shiftlab: the small package behind the course on translation invariance and equivariance.

Four rooms, one name per idea in all of them; imports run one way only, science <- figures <-
exercises <- book (``pyproject.toml``'s import contracts, checked by the test command).

**The science** is the top level of ``shiftlab``: no figure, no notebook machinery. The core,
whose public names ``shiftlab`` itself re-exports (``from shiftlab import shift, conv2d, train``):

- ``transforms``  circular shift, zero-fill translation, crop-shift
- ``metrics``     equivariance and invariance errors, what "exact" means in floating point
- ``layers``      convolution with a padding mode, local and global pooling, edge filters
- ``data``        images generated or shipped with matplotlib (no downloads), the glyph task,
  scikit-learn's handwritten digits on a canvas
- ``models``      small CNNs configured by one object; ``training`` trains one or many at once
- ``_validate``   the argument checks every public function runs first

and one module per idea of a chapter, named by the idea:

- ``convolution``, ``local_max``   ch. 2: what convolution commutes with; a local-max detector
- ``stride``                       ch. 3: downsampling keeps only a subgroup of shifts
- ``pooling``                      ch. 4: which pooled values survive a shift
- ``boundary``, ``position``       ch. 5: the border, and absolute position read out
- ``rook``, ``quadrant``           ch. 6: the rook experiment and the border in miniature
- ``restoring``, ``antialias``, ``consistency``   ch. 7: APS and the network of the remedies,
  blur, consistency under shifts
- ``subpixel``, ``subpixel_net``   ch. 8: the band-limited shift by any real t, the alias-free
  ReLU, shiftability; a classifier under sub-pixel shifts
- ``augmentation``                 ch. 9: invariance learned from data, phases, moved parts
- ``segmentation``                 ch. 10: an encoder-decoder, polyphase upsampling, APS-U

(chapter 1's idea is the core itself). **``shiftlab.figures``**: every figure, explorer and
slider, one module per idea (``shiftlab.figures.stride``, ...) and the shared panels.
**``shiftlab.exercises``**: the checkers of the exercise notebooks, one module per idea, their
shared helpers in ``exercises._core``. **``shiftlab.book``**: the tooling (``glue``; authoring,
publish, grading, bench, execution, the course map, the progress bar), which nothing but
notebooks and tests imports.
"""

from shiftlab.data import (
    CLASSES,
    GLYPHS,
    digits_on_canvas,
    gaussian_images,
    glyph_images,
    integer_images,
    random_conv_cases,
    random_kernel,
    sample_image,
)
from shiftlab.layers import (
    PADDINGS,
    conv2d,
    edge_kernel,
    global_avg_pool,
    global_max_pool,
    max_pool,
)
from shiftlab.metrics import (
    equivariance_bound,
    equivariance_bound_map,
    equivariance_error,
    exact_tolerance,
    fraction_exact,
    invariance_error,
    magnitude_network,
    prediction_agreement,
    relative_error,
    rounding_bound,
    sequential_sum,
    symmetry_table,
    unit_roundoff,
)
from shiftlab.models import ConvNet, ConvNetConfig, SqueezeExcitation
from shiftlab.training import accuracy, predict, rate_interval, train, train_runs
from shiftlab.transforms import (
    CropShift,
    Identity,
    Shift,
    Translate,
    align_peak_to_even,
    center_crop,
    crop_shift,
    shift,
    translate,
)

__all__ = [
    "CLASSES",
    "GLYPHS",
    "PADDINGS",
    "ConvNet",
    "ConvNetConfig",
    "CropShift",
    "Identity",
    "Shift",
    "SqueezeExcitation",
    "Translate",
    "accuracy",
    "align_peak_to_even",
    "center_crop",
    "conv2d",
    "crop_shift",
    "digits_on_canvas",
    "edge_kernel",
    "equivariance_bound",
    "equivariance_bound_map",
    "equivariance_error",
    "exact_tolerance",
    "fraction_exact",
    "gaussian_images",
    "global_avg_pool",
    "global_max_pool",
    "glyph_images",
    "integer_images",
    "invariance_error",
    "magnitude_network",
    "max_pool",
    "predict",
    "prediction_agreement",
    "random_conv_cases",
    "random_kernel",
    "rate_interval",
    "relative_error",
    "rounding_bound",
    "sample_image",
    "sequential_sum",
    "shift",
    "symmetry_table",
    "train",
    "train_runs",
    "translate",
    "unit_roundoff",
]
