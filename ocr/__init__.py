"""Seven-segment meter display reader: photo (numpy BGR) in, ``Reading`` out. Pure."""

from ocr.reader import read_display
from ocr.reading import DigitBox, Quad, Reading

__all__ = ["DigitBox", "Quad", "Reading", "read_display"]
