"""``shiftlab.figures``: every figure, explorer and slider of the course, one module per idea.

A figure function returns the ``Figure``, closed, so a notebook shows it once, as the cell's
value; an *explorer* returns ``(fig, update)``, which ``slider`` renders once per position.

- ``panels``       the pieces every figure shares: an image panel, a row of images, a Markdown table
- ``sliders``      ``slider(fig, update, values)``: live in Jupyter, kernel-free in the built book
- ``alt_text``     what a figure shows, in words (read from its title and axes), for its alt text
- ``invariance``   ch. 1: errors side by side, a shift explorer with readouts
- ``convolution``  ch. 2: the two sides of an equivariance law, errors against depth
- ``stride``       ch. 3: what the nearest shifted copy of a strided map misses
- ``pooling``      ch. 4: surviving pooled values, survivor counts, maps over shifts
- ``boundary``     ch. 5: grids of numbers and maps, error bands near the frame
- ``rook``         ch. 6: the learned filter over training, where every run ends, the border sweep
- ``restoring``    ch. 7: filter gains, three downsamplers under a shift, consistency bars
- ``subpixel``     ch. 8: a sub-pixel shift explorer, spectra, error curves, flip rates
- ``augmentation`` ch. 9: flip and accuracy curves over the shift, digits under a slider
- ``segmentation`` ch. 10: glyph canvases and their masks, the masks of networks under a shift

Figures draw what the science computes: they import ``shiftlab``'s science modules, never the
exercises or the book tooling (``pyproject.toml``'s import contracts).
"""

from shiftlab.figures import alt_text as _alt_text
from shiftlab.figures.panels import PANEL_INCHES, image_panel, markdown_table, show_images
from shiftlab.figures.sliders import Slider, slider

_alt_text.register()  # in IPython: every figure a notebook shows carries its alt text

__all__ = ["PANEL_INCHES", "Slider", "image_panel", "markdown_table", "show_images", "slider"]
