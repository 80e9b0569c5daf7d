"""shiftlab: the small package behind the course on translation invariance and equivariance.

One module per idea, each short enough to read in one sitting. The foundations:

- ``shiftlab.transforms``  circular shift, zero-fill translation, crop-shift
- ``shiftlab.metrics``     equivariance and invariance errors, what "exact" means in floating point
- ``shiftlab.layers``      convolution with a padding mode, global pooling, edge filters
- ``shiftlab.data``        images generated or shipped with matplotlib (no downloads)
- ``shiftlab.models``      small CNNs configured by one object; ``shiftlab.training`` trains them
- ``shiftlab.plotting``    the figures the chapters share
- ``shiftlab.sliders``     one call, a slider that works in the book and in Jupyter, kernel or not
- ``shiftlab.alt_text``    what a figure shows, in words, for its alt text (read from the figure)

The ideas of the chapters, in order:

- ``geometry``, ``fft_conv``           ch. 2: what convolution does and does not commute with
- ``stride``                           ch. 3: downsampling keeps only a subgroup of shifts
- ``pooling``, ``glyphs``              ch. 4: which pooled values survive a shift; a small task
- ``boundary``, ``position``, ``local_max``   ch. 5: the border, absolute position, local maxima
- ``rook``, ``quadrant``               ch. 6: the rook experiment and the border in miniature
- ``antialias``, ``aps``, ``downsampling``, ``consistency``   ch. 7: restoring invariance

(``*_plots`` modules hold each chapter's own figures.) The machinery of the course:

- ``shiftlab.exercises``   the checkers of the exercise notebooks, one module per chapter
- ``shiftlab.authoring``   ``python -m shiftlab.authoring notebooks``: lessons from solutions, and
  the Jupyter edition (``shiftlab.edition``: the notebooks in plain Markdown, ``notebooks/``)
- ``shiftlab.book``        ``glue``: numbers computed in a notebook, quoted in its prose
- ``shiftlab.pages``       the book's Sphinx extension: launch and download buttons serve the
  Jupyter edition; figures get their alt text
- ``shiftlab.progress``    a progress bar that reads right in Jupyter and in the book
- ``shiftlab.course``      the course's plan and map; ``shiftlab.publish``: the student edition
- ``shiftlab.execution``   the book's executions: cached against shiftlab's code, two at a time
- ``shiftlab.bench``       ``python -m shiftlab.bench``: test command vs its work, notebook times,
  page sizes
"""

from shiftlab import alt_text as _alt_text
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

_alt_text.register()  # in IPython: every figure a notebook shows carries its alt text

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
