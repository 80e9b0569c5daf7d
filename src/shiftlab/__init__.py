"""shiftlab: the small package behind the course on translation invariance and equivariance.

One module per idea, each short enough to read in one sitting. The foundations:

- ``shiftlab.transforms``  circular shift, zero-fill translation, crop-shift
- ``shiftlab.metrics``     equivariance and invariance errors, what "exact" means in floating point
- ``shiftlab.layers``      convolution with a padding mode, global pooling, edge filters
- ``shiftlab.data``        images generated or shipped with matplotlib (no downloads)
- ``shiftlab.models``      small CNNs configured by one object; ``shiftlab.training`` trains them
- ``shiftlab.figures.panels``    the figures the chapters share
- ``shiftlab.figures.sliders``  one call: a live slider in Jupyter, a kernel-free one in the book

The ideas of the chapters, in order:

- ``geometry``, ``fft_conv``           ch. 2: what convolution does and does not commute with
- ``stride``                           ch. 3: downsampling keeps only a subgroup of shifts
- ``pooling``, ``glyphs``              ch. 4: which pooled values survive a shift; a small task
- ``boundary``, ``position``, ``local_max``   ch. 5: the border, absolute position, local maxima
- ``rook``, ``quadrant``               ch. 6: the rook experiment and the border in miniature
- ``antialias``, ``aps``, ``downsampling``, ``consistency``   ch. 7: restoring invariance

(``*_plots`` modules hold each chapter's own figures.) The machinery of the course:

- ``shiftlab.exercises``   the checkers of the exercise notebooks, one module per chapter
- ``shiftlab.book.authoring``  ``python -m shiftlab.book.authoring lessons``: lessons
- ``shiftlab.book``        ``glue``: numbers computed in a notebook, quoted in its prose
- ``shiftlab.book.progress``    a progress bar that reads right in Jupyter and in the book
- ``shiftlab.book.course``  the course's plan and map; ``shiftlab.book.publish``: student edition
- ``shiftlab.book.execution``   the book's executions: cached against shiftlab's code, two at a time
- ``shiftlab.book.bench``  ``python -m shiftlab.book.bench``: test command vs its work, notebook
  times, page sizes
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
    "translate",
]
