"""shiftlab: the small package behind the course on translation invariance and equivariance.

One module per idea, each short enough to read in one sitting:

- ``shiftlab.transforms``  circular shift, zero-fill translation, crop-shift
- ``shiftlab.metrics``     equivariance and invariance errors, what "exact" means in floating point
- ``shiftlab.layers``      convolution with a padding mode, global pooling, edge filters
- ``shiftlab.data``        images generated or shipped with matplotlib (no downloads)
- ``shiftlab.plotting``    the figures the chapters share
- ``shiftlab.sliders``     one call, a live slider in Jupyter and a kernel-free one in the book
- ``shiftlab.exercises``   the checkers of the exercise notebooks
- ``shiftlab.authoring``   ``python -m shiftlab.authoring lessons``: lessons from solutions
- ``shiftlab.bench``       ``python -m shiftlab.bench``: notebook times, book build time, page sizes
"""

from shiftlab.data import gaussian_images, random_kernel, sample_image
from shiftlab.layers import conv2d, edge_kernel, global_avg_pool, global_max_pool
from shiftlab.metrics import (
    equivariance_error,
    exact_tolerance,
    fraction_exact,
    invariance_error,
    relative_error,
)
from shiftlab.sliders import slider
from shiftlab.transforms import (
    CropShift,
    Identity,
    Shift,
    Translate,
    center_crop,
    crop_shift,
    shift,
    translate,
)

__all__ = [
    "CropShift",
    "Identity",
    "Shift",
    "Translate",
    "center_crop",
    "conv2d",
    "crop_shift",
    "edge_kernel",
    "equivariance_error",
    "exact_tolerance",
    "fraction_exact",
    "gaussian_images",
    "global_avg_pool",
    "global_max_pool",
    "invariance_error",
    "random_kernel",
    "relative_error",
    "sample_image",
    "shift",
    "slider",
    "translate",
]
